#ifndef LIAISON_NATS_SHIM_H
#define LIAISON_NATS_SHIM_H

#include <nats/nats.h>
#include <string.h>

/* What Swift would otherwise do by filling C option structs field by field: each helper sets up one
   libnats call the way the cluster uses it. */

/* Connects to one of the `count` servers `urls` (the servers of one NATS cluster) as `name`, reconnecting
   for ever (every 250 ms, to any of them) when the connection drops. */
static inline natsStatus lnats_connect(natsConnection **nc, const char **urls, int count, const char *name) {
    natsOptions *opts = NULL;
    natsStatus s = natsOptions_Create(&opts);
    if (s == NATS_OK) s = natsOptions_SetServers(opts, urls, count);
    if (s == NATS_OK) s = natsOptions_SetName(opts, name);
    if (s == NATS_OK) s = natsOptions_SetTimeout(opts, 2000);
    if (s == NATS_OK) s = natsOptions_SetMaxReconnect(opts, -1);
    if (s == NATS_OK) s = natsOptions_SetReconnectWait(opts, 250);
    if (s == NATS_OK) s = natsOptions_SetPingInterval(opts, 1000);
    if (s == NATS_OK) s = natsOptions_SetMaxPingsOut(opts, 2);
    if (s == NATS_OK) s = natsConnection_Connect(nc, opts);
    natsOptions_Destroy(opts);
    return s;
}

/* Failed asynchronous publishes, counted by the JetStream context's error handler. */
typedef struct { int failures; } lnats_publish_failures;

static inline void lnats_count_failure(jsCtx *js, jsPubAckErr *pae, void *closure) {
    (void)js; (void)pae;
    __atomic_add_fetch(&((lnats_publish_failures *)closure)->failures, 1, __ATOMIC_SEQ_CST);
}

static inline int lnats_failures(lnats_publish_failures *counter) {
    return __atomic_load_n(&counter->failures, __ATOMIC_SEQ_CST);
}

/* A JetStream context whose failed asynchronous publishes are counted in `failures`. */
static inline natsStatus lnats_jetstream(jsCtx **js, natsConnection *nc, int64_t waitMillis,
                                         lnats_publish_failures *failures) {
    jsOptions o;
    jsOptions_Init(&o);
    o.Wait = waitMillis;
    o.PublishAsync.MaxPending = 4096;
    o.PublishAsync.ErrHandler = lnats_count_failure;
    o.PublishAsync.ErrHandlerClosure = failures;
    return natsConnection_JetStream(js, nc, &o);
}

/* Creates the stream `name` holding the one subject `subject` in files with `replicas` copies, or finds it
   as it is: NATS_MISMATCH if it holds other subjects (made by an older Liaison). */
static inline natsStatus lnats_ensure_stream(jsCtx *js, const char *name, const char *subject, int64_t replicas,
                                             jsErrCode *err) {
    jsStreamInfo *si = NULL;
    natsStatus s = js_GetStreamInfo(&si, js, name, NULL, err);
    if (s == NATS_OK) {
        int same = si->Config->SubjectsLen == 1 && strcmp(si->Config->Subjects[0], subject) == 0;
        jsStreamInfo_Destroy(si);
        return same ? NATS_OK : NATS_MISMATCH;
    }
    jsStreamConfig cfg;
    jsStreamConfig_Init(&cfg);
    const char *subjects[1] = { subject };
    cfg.Name = name;
    cfg.Subjects = subjects;
    cfg.SubjectsLen = 1;
    cfg.Storage = js_FileStorage;
    cfg.Replicas = replicas;
    /* Message IDs chain a batch's records; a second of them is all JetStream keeps to spot duplicates. */
    cfg.Duplicates = 1000000000;
    s = js_AddStream(&si, js, &cfg, NULL, err);
    if (s == NATS_OK) jsStreamInfo_Destroy(si);
    return s;
}

/* The sequence of the newest record of stream `name` (0 when it is empty). */
static inline natsStatus lnats_last_sequence(jsCtx *js, const char *name, uint64_t *last, jsErrCode *err) {
    jsStreamInfo *si = NULL;
    natsStatus s = js_GetStreamInfo(&si, js, name, NULL, err);
    if (s == NATS_OK) { *last = si->State.LastSeq; jsStreamInfo_Destroy(si); }
    return s;
}

/* Publishes without waiting for the ack, fenced, as `msgId`: JetStream stores it only if the stream's newest
   record, of any subject, is the one published as `previousId`, or without one, if it is at `expectedLast`
   (0: if `subject` has no record yet). Chained this way, the records of a batch are stored one after the other
   or not at all from the first refused one on. */
static inline natsStatus lnats_publish_fenced(jsCtx *js, const char *subject, const void *data, int len,
                                              uint64_t expectedLast, const char *msgId, const char *previousId) {
    jsPubOptions o;
    jsPubOptions_Init(&o);
    o.MsgId = msgId;
    if (previousId != NULL) o.ExpectLastMsgId = previousId;
    else if (expectedLast == 0) o.ExpectNoMessage = true;
    else o.ExpectLastSeq = expectedLast;
    return js_PublishAsync(js, subject, data, len, &o);
}

/* Waits up to `waitMillis` for the acks of every asynchronous publish. */
static inline natsStatus lnats_publish_complete(jsCtx *js, int64_t waitMillis) {
    jsPubOptions o;
    jsPubOptions_Init(&o);
    o.MaxWait = waitMillis;
    return js_PublishAsyncComplete(js, &o);
}

/* JetStream options whose requests are answered within `wait` ms. */
static inline jsOptions lnats_waiting(int64_t wait) {
    jsOptions o;
    jsOptions_Init(&o);
    o.Wait = wait;
    return o;
}

/* A pull consumer (ephemeral, no acks) of every record of `subject` from sequence `from` (the first if 0 or 1):
   read in batches with natsSubscription_Fetch, many times faster than one message at a time. One replica in
   memory: it lives for one read. Its creation answered within `wait` ms. */
static inline natsStatus lnats_pull_all(natsSubscription **sub, jsCtx *js, const char *subject, uint64_t from,
                                        int64_t wait, jsErrCode *err) {
    jsOptions o = lnats_waiting(wait);
    jsSubOptions so;
    jsSubOptions_Init(&so);
    so.Config.DeliverPolicy = from > 1 ? js_DeliverByStartSequence : js_DeliverAll;
    so.Config.OptStartSeq = from > 1 ? from : 0;
    so.Config.AckPolicy = js_AckNone;
    so.Config.Replicas = 1;
    so.Config.MemoryStorage = true;
    natsStatus s = js_PullSubscribe(sub, js, subject, NULL, &o, &so, err);
    /* A fetch's messages wait in the subscription until read: libnats would drop those past 64 MiB. */
    if (s == NATS_OK) s = natsSubscription_SetPendingLimits(*sub, -1, -1);
    return s;
}

/* The stream sequence of a message a JetStream consumer delivered (0 if it carries none). */
static inline uint64_t lnats_stream_sequence(natsMsg *msg) {
    jsMsgMetaData *meta = NULL;
    if (natsMsg_GetMetaData(&meta, msg) != NATS_OK) return 0;
    uint64_t seq = meta->Sequence.Stream;
    jsMsgMetaData_Destroy(meta);
    return seq;
}

/* The key-value bucket `bucket` (one value per key, files, `replicas` copies), created if missing. */
static inline natsStatus lnats_key_value(kvStore **kv, jsCtx *js, const char *bucket, int replicas) {
    if (js_KeyValue(kv, js, bucket) == NATS_OK) return NATS_OK;
    kvConfig c;
    kvConfig_Init(&c);
    c.Bucket = bucket;
    c.History = 1;
    c.Replicas = replicas;
    c.StorageType = js_FileStorage;
    return js_CreateKeyValue(kv, js, &c);
}

/* Removes the messages of `subject` (every subject if NULL) whose sequence is below `below` (0: all of
   them) from stream `name`. */
static inline natsStatus lnats_purge_below(jsCtx *js, const char *name, const char *subject, uint64_t below,
                                           jsErrCode *err) {
    jsOptions o;
    jsOptions_Init(&o);
    o.Stream.Purge.Subject = subject;
    o.Stream.Purge.Sequence = below;
    return js_PurgeStream(js, name, &o, err);
}

/* The bytes stream `name` holds and the sequence of its newest message. */
static inline natsStatus lnats_stream_size(jsCtx *js, const char *name, uint64_t *bytes, uint64_t *last,
                                           jsErrCode *err) {
    jsStreamInfo *si = NULL;
    natsStatus s = js_GetStreamInfo(&si, js, name, NULL, err);
    if (s == NATS_OK) { *bytes = si->State.Bytes; *last = si->State.LastSeq; jsStreamInfo_Destroy(si); }
    return s;
}

/* The message at sequence `seq` of stream `name`, answered within `wait` ms. */
static inline natsStatus lnats_get_message(natsMsg **msg, jsCtx *js, const char *name, uint64_t seq, int64_t wait,
                                           jsErrCode *err) {
    jsOptions o = lnats_waiting(wait);
    return js_GetMsg(msg, js, name, seq, &o, err);
}

/* Removes every message of `subject` from stream `name`. */
static inline natsStatus lnats_purge_subject(jsCtx *js, const char *name, const char *subject, jsErrCode *err) {
    jsOptions o;
    jsOptions_Init(&o);
    o.Stream.Purge.Subject = subject;
    return js_PurgeStream(js, name, &o, err);
}

/* Publishes without waiting for the ack and without any expectation (see lnats_publish_complete). */
static inline natsStatus lnats_publish_async(jsCtx *js, const char *subject, const void *data, int len) {
    return js_PublishAsync(js, subject, data, len, NULL);
}

/* Subscribes `handler` to `subject` with no limit on the messages waiting for it (a relay must never drop
   one: libnats would otherwise drop past 65,536 pending messages). */
static inline natsStatus lnats_subscribe(natsSubscription **sub, natsConnection *nc, const char *subject,
                                         natsMsgHandler handler, void *closure) {
    natsStatus s = natsConnection_Subscribe(sub, nc, subject, handler, closure);
    if (s == NATS_OK) s = natsSubscription_SetPendingLimits(*sub, -1, -1);
    return s;
}

#endif
