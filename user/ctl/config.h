/*
 * config.h - sipshardd's configuration: one JSON document (jansson), or the
 * embedded default when there is none.
 *
 * Owns: the configuration model, defaults, validation (unknown keys and bad
 * values are errors that name the key's path), printing the effective
 * configuration. Does not own: applying policy (policy.h), the daemon's use of
 * the values. Every key is documented in examples/CONFIG.md.
 */
#ifndef SIPSHARD_CONFIG_H
#define SIPSHARD_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#define CONFIG_MAX_ROUTES    64
#define CONFIG_MAX_ACL_RULES 64
#define CONFIG_MAX_OOD	     16
#define CONFIG_STR_MAX	     256

struct config_cidr {
	int family; /* AF_INET or AF_INET6 */
	uint8_t addr[16];
	uint8_t prefix;
};

struct config_acl_rule {
	bool allow;
	struct config_cidr cidr;
};

struct config_route {
	char name[64];
	char user_prefix[64];
	char domain[128]; /* "" = any */
	bool has_source;
	struct config_cidr source;
	char target[CONFIG_STR_MAX]; /* host:port as written */
	struct sockaddr_storage addr;
	socklen_t addr_len;
};

struct config_ood {
	char method[32];
	int status;
};

struct config {
	char listen[CONFIG_STR_MAX];
	struct sockaddr_storage listen_addr;
	socklen_t listen_addr_len;
	char advertise[CONFIG_STR_MAX]; /* host:port put in Via, Contact, From */
	unsigned workers; /* 0 = one per online CPU */
	bool bpf, io_uring;
	char log_level[16];
	unsigned tx_buffer_size; /* bytes of one outgoing datagram buffer */
	struct {
		uint32_t dialogs_per_shard, transactions_per_shard, setups;
	} capacity;
	struct {
		uint32_t t1_ms, t2_ms, transaction_timeout_ms, dialog_idle_s, dialog_max_s;
	} timers;
	struct {
		uint32_t max_calls, calls_per_second_per_source, burst, retry_after_s,
			rate_sources;
	} limits;
	bool acl_default_allow;
	unsigned nacl;
	struct config_acl_rule acl[CONFIG_MAX_ACL_RULES];
	unsigned nroutes;
	struct config_route routes[CONFIG_MAX_ROUTES];
	int no_route_status;
	unsigned nood;
	struct config_ood ood[CONFIG_MAX_OOD];
	int ood_default_status;
};

/* The embedded default: listen 127.0.0.1:5060, every call to 127.0.0.1:5080. */
extern const char config_default_json[];

/* Each returns 0, or -EINVAL with "path.to.key: problem" (or a JSON syntax
 * error with line and column) in err. */
int config_load_default(struct config *c, char *err, size_t errlen);
int config_load_file(struct config *c, const char *path, char *err, size_t errlen);
int config_load_string(struct config *c, const char *json, char *err, size_t errlen);

/* The effective configuration as indented JSON (caller frees). */
char *config_to_json(const struct config *c);
void config_free(struct config *c);

/* CIDR helpers shared with policy. */
int config_parse_cidr(const char *s, struct config_cidr *out);
bool config_cidr_match(const struct config_cidr *c, const struct sockaddr *sa);

#endif
