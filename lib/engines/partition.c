/* The store-affinity partitioner: Java-compatible murmur2 of the store id, or a pinned partition. */
#include "engines/engines_int.h"

#include <ctype.h>
#include <stdio.h>

int32_t redstore_murmur2(const void *data, size_t len)
{
	/* Kafka's org.apache.kafka.common.utils.Utils.murmur2, in unsigned arithmetic. */
	const uint32_t seed = 0x9747b28cu, m = 0x5bd1e995u;
	const int r = 24;
	const unsigned char *p = data;
	uint32_t h = seed ^ (uint32_t)len;
	size_t n4 = len / 4;

	for (size_t i = 0; i < n4; i++) {
		uint32_t k = (uint32_t)p[4 * i] | (uint32_t)p[4 * i + 1] << 8 | (uint32_t)p[4 * i + 2] << 16 |
		             (uint32_t)p[4 * i + 3] << 24;
		k *= m;
		k ^= k >> r;
		k *= m;
		h *= m;
		h ^= k;
	}
	switch (len % 4) {
	case 3:
		h ^= (uint32_t)p[(len & ~(size_t)3) + 2] << 16;
		/* fall through */
	case 2:
		h ^= (uint32_t)p[(len & ~(size_t)3) + 1] << 8;
		/* fall through */
	case 1:
		h ^= (uint32_t)p[len & ~(size_t)3];
		h *= m;
	}
	h ^= h >> 13;
	h *= m;
	h ^= h >> 15;
	return (int32_t)h;
}

/* Looks the store up in "store=partition[,store=partition...]" (validated by the configuration). */
static int32_t pinned(const char *map, const char *store)
{
	size_t n = strlen(store);
	const char *p = map;
	while (p && *p) {
		const char *eq = strchr(p, '=');
		if (!eq)
			break;
		if ((size_t)(eq - p) == n && !strncmp(p, store, n))
			return (int32_t)strtol(eq + 1, NULL, 10);
		p = strchr(eq, ',');
		if (p)
			p++;
	}
	return -1;
}

int redstore_store_partition(int32_t *out, const redstore_config *cfg, const char *store_id, int32_t partition_count)
{
	return redstore__store_partition(out, cfg ? redstore__config_str(cfg, REDSTORE_CFG_KAFKA_PARTITION_MAP) : "",
	                                 store_id, partition_count);
}

int redstore__store_partition(int32_t *out, const char *map, const char *store_id, int32_t partition_count)
{
	int32_t pin;
	int rc;

	*out = 0;
	if ((rc = redstore__check_store_id(store_id, "redstore_store_partition")))
		return rc;
	if (partition_count < 1)
		return redstore__fail(REDSTORE_EINVALID, "redstore_store_partition: %d partitions (expected >= 1)",
		                      (int)partition_count);
	pin = map && map[0] ? pinned(map, store_id) : -1;
	if (pin >= 0 && pin < partition_count)
		*out = pin;
	else
		*out = (int32_t)(((uint32_t)redstore_murmur2(store_id, strlen(store_id)) & 0x7fffffffu) %
		                 (uint32_t)partition_count);
	return 0;
}
