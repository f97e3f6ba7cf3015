/*
 * kafka-mock: librdkafka's in-process mock cluster as a standalone process, so tests get the real
 * Kafka wire protocol without Docker or a JVM. It owns the cluster and a line protocol on stdin for
 * fault injection; it never persists anything (the log lives in memory and dies with the process).
 *
 * Usage: kafka-mock [--brokers N] [--partitions P] [--topics-file FILE] [--no-default-topics]
 *                   [topic[:partitions] ...]
 *
 * Prints the bootstrap list ("127.0.0.1:port,...") as its first stdout line once every topic exists,
 * then answers each stdin command with exactly one line, "ok[ detail]" or "error <message>", so a
 * caller can await each command. EOF on stdin means the parent died: exit. See README.md.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

/* The catalog in libs/events (EVENT_TYPES); each also gets its dead-letter topic "<topic>.dlq". */
static const char *DEFAULT_TOPICS[] = {
    "upload.received.v1",    "scan.completed.v1",    "match.found.v1",   "quarantine.applied.v1",
    "evidence.requested.v1", "evidence.preserved.v1", "report.requested.v1", "report.filed.v1",
    "hashlist.updated.v1",   "rescan.requested.v1",
};

/* Kafka protocol request names accepted wherever an API key is expected (numbers work too). */
static const struct {
    const char *name;
    int key;
} API_KEYS[] = {
    {"Produce", 0},         {"Fetch", 1},           {"ListOffsets", 2},     {"Metadata", 3},
    {"OffsetCommit", 8},    {"OffsetFetch", 9},     {"FindCoordinator", 10}, {"JoinGroup", 11},
    {"Heartbeat", 12},      {"LeaveGroup", 13},     {"SyncGroup", 14},      {"DescribeGroups", 15},
    {"ListGroups", 16},     {"ApiVersions", 18},    {"CreateTopics", 19},   {"DeleteTopics", 20},
    {"InitProducerId", 22}, {"AddPartitionsToTxn", 24}, {"EndTxn", 26},     {"DescribeConfigs", 32},
};

static rd_kafka_mock_cluster_t *mc;
static int broker_count = 1;

static void reply(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void reply(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vfprintf(stdout, fmt, ap);
    va_end(ap);
    fputc('\n', stdout);
    /* Callers block on this line: never leave it in a buffer. */
    fflush(stdout);
}

static int parse_int(const char *s, long min, long max, long *out) {
    char *end;
    if (!s || !*s) return 0;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || *end || v < min || v > max) return 0;
    *out = v;
    return 1;
}

static int parse_api_key(const char *s, int16_t *out) {
    long v;
    if (parse_int(s, 0, 32767, &v)) {
        *out = (int16_t)v;
        return 1;
    }
    for (size_t i = 0; s && i < sizeof(API_KEYS) / sizeof(API_KEYS[0]); i++) {
        if (!strcasecmp(s, API_KEYS[i].name)) {
            *out = (int16_t)API_KEYS[i].key;
            return 1;
        }
    }
    return 0;
}

/* An error code by number or by librdkafka's name for it, with or without the ERR_ prefix. */
static int parse_err(const char *s, rd_kafka_resp_err_t *out) {
    long v;
    if (parse_int(s, -200, 32767, &v)) {
        *out = (rd_kafka_resp_err_t)v;
        return 1;
    }
    if (!s) return 0;
    const struct rd_kafka_err_desc *descs;
    size_t n;
    rd_kafka_get_err_descs(&descs, &n);
    const char *want = strncasecmp(s, "ERR_", 4) ? s : s + 4;
    for (size_t i = 0; i < n; i++) {
        if (descs[i].name && !strcasecmp(descs[i].name, want)) {
            *out = descs[i].code;
            return 1;
        }
    }
    return 0;
}

/* Replication factor: as many replicas as brokers, up to Kafka's usual 3. */
static int replication(void) { return broker_count < 3 ? broker_count : 3; }

static int create_topic(const char *name, int partitions) {
    rd_kafka_resp_err_t err = rd_kafka_mock_topic_create(mc, name, partitions, replication());
    if (err) {
        fprintf(stderr, "kafka-mock: cannot create topic %s: %s\n", name, rd_kafka_err2str(err));
        return 0;
    }
    return 1;
}

/* "name" or "name:partitions"; creates the topic and, for a non-DLQ name, nothing else. */
static int create_topic_spec(const char *spec, int default_partitions) {
    char name[512];
    long partitions = default_partitions;
    const char *colon = strrchr(spec, ':');
    size_t len = colon ? (size_t)(colon - spec) : strlen(spec);
    if (len == 0 || len >= sizeof(name)) {
        fprintf(stderr, "kafka-mock: bad topic spec '%s'\n", spec);
        return 0;
    }
    memcpy(name, spec, len);
    name[len] = '\0';
    if (colon && !parse_int(colon + 1, 1, 10000, &partitions)) {
        fprintf(stderr, "kafka-mock: bad partition count in '%s'\n", spec);
        return 0;
    }
    return create_topic(name, (int)partitions);
}

static char *trim(char *s) {
    while (isspace((unsigned char)*s)) s++;
    char *end = s + strlen(s);
    while (end > s && isspace((unsigned char)end[-1])) *--end = '\0';
    return s;
}

static void report(rd_kafka_resp_err_t err) {
    if (err)
        reply("error %s", rd_kafka_err2str(err));
    else
        reply("ok");
}

/* Returns 0 when the caller asked to quit. */
static int command(char *line) {
    char *argv[8] = {0};
    int argc = 0;
    for (char *tok = strtok(line, " \t"); tok && argc < 8; tok = strtok(NULL, " \t")) argv[argc++] = tok;
    if (argc == 0) {
        reply("error empty command");
        return 1;
    }
    const char *cmd = argv[0];
    long a, b;
    int16_t api;
    rd_kafka_resp_err_t code;

    if (!strcmp(cmd, "quit")) {
        reply("ok");
        return 0;
    } else if (!strcmp(cmd, "ping")) {
        reply("ok");
    } else if (!strcmp(cmd, "bootstraps")) {
        reply("ok %s", rd_kafka_mock_cluster_bootstraps(mc));
    } else if ((!strcmp(cmd, "down") || !strcmp(cmd, "up")) && argc == 2 && parse_int(argv[1], -1, broker_count, &a) && a != 0) {
        report(!strcmp(cmd, "down") ? rd_kafka_mock_broker_set_down(mc, (int32_t)a) : rd_kafka_mock_broker_set_up(mc, (int32_t)a));
    } else if (!strcmp(cmd, "rtt") && argc == 3 && parse_int(argv[1], -1, broker_count, &a) && a != 0 && parse_int(argv[2], 0, 600000, &b)) {
        report(rd_kafka_mock_broker_set_rtt(mc, (int32_t)a, (int)b));
    } else if (!strcmp(cmd, "leader") && argc == 4 && parse_int(argv[2], 0, 100000, &a) && parse_int(argv[3], -1, broker_count, &b)) {
        /* -1: the partition has no leader (every request for it fails with LEADER_NOT_AVAILABLE). */
        report(rd_kafka_mock_partition_set_leader(mc, argv[1], (int32_t)a, (int32_t)b));
    } else if (!strcmp(cmd, "coordinator") && argc == 4 && (!strcmp(argv[1], "group") || !strcmp(argv[1], "transaction")) &&
               parse_int(argv[3], 1, broker_count, &a)) {
        report(rd_kafka_mock_coordinator_set(mc, argv[1], argv[2], (int32_t)a));
    } else if (!strcmp(cmd, "err") && argc == 4 && parse_api_key(argv[1], &api) && parse_err(argv[2], &code) &&
               parse_int(argv[3], 1, 100000, &a)) {
        rd_kafka_resp_err_t *codes = malloc(sizeof(*codes) * (size_t)a);
        if (!codes) {
            reply("error out of memory");
            return 1;
        }
        for (long i = 0; i < a; i++) codes[i] = code;
        /* Cluster-wide: the next `count` requests of this API, to any broker, fail with `code`. */
        rd_kafka_mock_push_request_errors_array(mc, api, (size_t)a, codes);
        free(codes);
        reply("ok");
    } else if (!strcmp(cmd, "clear") && argc == 2 && parse_api_key(argv[1], &api)) {
        rd_kafka_mock_clear_request_errors(mc, api);
        reply("ok");
    } else if (!strcmp(cmd, "topic") && argc == 3 && parse_int(argv[2], 1, 10000, &a)) {
        report(rd_kafka_mock_topic_create(mc, argv[1], (int)a, replication()));
    } else if (!strcmp(cmd, "topic-error") && argc == 3 && parse_err(argv[2], &code)) {
        /* Every request for the topic fails with `code` until set back to 0 (NO_ERROR). */
        rd_kafka_mock_topic_set_error(mc, argv[1], code);
        reply("ok");
    } else if (!strcmp(cmd, "apiversion") && argc == 4 && parse_api_key(argv[1], &api) && parse_int(argv[2], -1, 100, &a) &&
               parse_int(argv[3], -1, 100, &b)) {
        report(rd_kafka_mock_set_apiversion(mc, api, (int16_t)a, (int16_t)b));
    } else {
        reply("error unknown or malformed command: %s (see infra/kafka-mock/README.md)", cmd);
    }
    return 1;
}

static void usage(void) {
    fprintf(stderr,
            "usage: kafka-mock [--brokers N] [--partitions P] [--topics-file FILE] [--no-default-topics] [topic[:partitions] ...]\n");
    exit(2);
}

int main(int argc, char **argv) {
    long partitions = 4;
    int default_topics = 1;
    const char *topics_file = NULL;
    int first_topic = argc;

#ifdef __linux__
    /* Belt and braces with the EOF rule: die with the parent even if the pipe leaks elsewhere. */
    prctl(PR_SET_PDEATHSIG, SIGTERM);
#endif
    /* A dead reader must not kill us mid-reply with SIGPIPE; the next fgets sees EOF instead. */
    signal(SIGPIPE, SIG_IGN);

    for (int i = 1; i < argc; i++) {
        long v;
        if (!strcmp(argv[i], "--brokers") && i + 1 < argc && parse_int(argv[i + 1], 1, 64, &v)) {
            broker_count = (int)v;
            i++;
        } else if (!strcmp(argv[i], "--partitions") && i + 1 < argc && parse_int(argv[i + 1], 1, 10000, &v)) {
            partitions = v;
            i++;
        } else if (!strcmp(argv[i], "--topics-file") && i + 1 < argc) {
            topics_file = argv[++i];
        } else if (!strcmp(argv[i], "--no-default-topics")) {
            default_topics = 0;
        } else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h") || argv[i][0] == '-') {
            usage();
        } else {
            first_topic = i;
            break;
        }
    }

    /* The mock needs a client handle for its bookkeeping; it is never used to send anything. */
    char errstr[512];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    if (rd_kafka_conf_set(conf, "log_level", "3", errstr, sizeof(errstr)) != RD_KAFKA_CONF_OK) {
        fprintf(stderr, "kafka-mock: %s\n", errstr);
        return 1;
    }
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
    if (!rk) {
        fprintf(stderr, "kafka-mock: rd_kafka_new: %s\n", errstr);
        return 1;
    }
    mc = rd_kafka_mock_cluster_new(rk, broker_count);
    if (!mc) {
        fprintf(stderr, "kafka-mock: cannot create the mock cluster\n");
        return 1;
    }

    int ok = 1;
    if (default_topics) {
        for (size_t i = 0; i < sizeof(DEFAULT_TOPICS) / sizeof(DEFAULT_TOPICS[0]); i++) {
            char dlq[512];
            snprintf(dlq, sizeof(dlq), "%s.dlq", DEFAULT_TOPICS[i]);
            ok &= create_topic(DEFAULT_TOPICS[i], (int)partitions) && create_topic(dlq, (int)partitions);
        }
    }
    if (topics_file) {
        FILE *f = fopen(topics_file, "r");
        if (!f) {
            fprintf(stderr, "kafka-mock: cannot open %s: %s\n", topics_file, strerror(errno));
            return 1;
        }
        char buf[1024];
        while (fgets(buf, sizeof(buf), f)) {
            char *spec = trim(buf);
            if (*spec && *spec != '#') ok &= create_topic_spec(spec, (int)partitions);
        }
        fclose(f);
    }
    for (int i = first_topic; i < argc; i++) ok &= create_topic_spec(argv[i], (int)partitions);
    if (!ok) return 1;

    reply("%s", rd_kafka_mock_cluster_bootstraps(mc));

    char line[4096];
    int running = 1;
    while (running && fgets(line, sizeof(line), stdin)) running = command(trim(line));

    rd_kafka_mock_cluster_destroy(mc);
    rd_kafka_destroy(rk);
    return 0;
}
