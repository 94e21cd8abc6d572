/*
 * fuzz_config.h - the configuration the fuzzers that stand in for a daemon
 * run with (fuzz_controller, fuzz_mgmt): two shards of 16 dialogs, a call
 * limit of 5, an ACL that denies 10.9.0.0/16, one route "b" to the three
 * targets 127.0.0.1:5090 (max_cps 2), :5091 (max_calls 1) and :5092 with
 * credentials, and one registration "r" at 127.0.0.1:5093. Literal
 * addresses only: the fuzzers resolve no name. Header-only: each fuzzer
 * includes it once.
 */
#ifndef SIPSHARD_TESTS_FUZZ_CONFIG_H
#define SIPSHARD_TESTS_FUZZ_CONFIG_H

static const char fuzz_daemon_config[] =
    "{\"listen\": \"127.0.0.1:5060\","
    " \"capacity\": {\"dialogs_per_shard\": 16, \"transactions_per_shard\": 32, \"setups\": 16},"
    " \"limits\": {\"max_calls\": 5, \"calls_per_second_per_source\": 1000, \"burst\": 4,"
    "  \"retry_after_s\": 5, \"rate_sources\": 16},"
    " \"timers\": {\"session_expires_s\": 90},"
    " \"acl\": {\"default\": \"allow\", \"rules\": [{\"action\": \"deny\", \"cidr\": "
    "\"10.9.0.0/16\"}]},"
    " \"routes\": [{\"name\": \"b\", \"match\": {\"user_prefix\": \"\", \"domain\": null,"
    "  \"source\": null}, \"targets\": [{\"address\": \"127.0.0.1:5090\", \"max_cps\": 2},"
    "  {\"address\": \"127.0.0.1:5091\","
    "  \"max_calls\": 1},"
    "  \"127.0.0.1:5092\"], \"failover_ms\": 100, \"keepalive_s\": 1, \"select\": \"round_robin\","
    "  \"rewrite\": {\"strip\": 1, \"prefix\": \"9\"},"
    "  \"auth\": {\"username\": \"trunk7\", \"password\": \"s3cret\"}}],"
    " \"registrations\": [{\"name\": \"r\", \"registrar\": \"127.0.0.1:5093\","
    "  \"aor\": \"sip:acct@trunk.test\", \"expires_s\": 60, \"retry_s\": 1,"
    "  \"auth\": {\"username\": \"acct\", \"password\": \"s3cret\"}}]}";

#endif
