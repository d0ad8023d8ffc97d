-- Returns the server time; the client tests use it to check script loading after SCRIPT FLUSH.
return redis.call('TIME')
