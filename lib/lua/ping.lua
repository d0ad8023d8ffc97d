-- Returns the server time; used by tests to check script loading.
return redis.call("TIME")
