#ifndef LIAISON_LWS_SHIM_H
#define LIAISON_LWS_SHIM_H

#include <libwebsockets.h>

/* What Swift cannot import from libwebsockets.h as it is: macros that are not plain literals. */

/* Bytes of headroom lws needs before every payload passed to lws_write. */
static inline size_t lwss_pre(void) { return LWS_PRE; }

/* lws_write's mode for bytes already framed (LWS_WRITE_RAW is a macro alias Swift cannot import). */
static inline enum lws_write_protocol lwss_write_raw(void) { return LWS_WRITE_RAW; }

/* Context and vhost options the server and client use. */
static inline uint64_t lwss_option_validate_utf8(void) { return LWS_SERVER_OPTION_VALIDATE_UTF8; }
static inline uint64_t lwss_option_ssl_global_init(void) { return LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT; }
static inline uint64_t lwss_option_explicit_vhosts(void) { return LWS_SERVER_OPTION_EXPLICIT_VHOSTS; }
static inline uint64_t lwss_option_disable_ipv6(void) { return LWS_SERVER_OPTION_DISABLE_IPV6; }

/* Client connection flags for a self-signed test server. */
static inline int lwss_client_ssl_flags_allow_selfsigned(void) {
    return LCCSCF_USE_SSL | LCCSCF_ALLOW_SELFSIGNED | LCCSCF_SKIP_SERVER_CERT_HOSTNAME_CHECK;
}

/* Log levels: errors and warnings only (libev's plugin logs a NOTICE per write). */
static inline int lwss_log_errors_and_warnings(void) { return LLL_ERR | LLL_WARN; }

#endif
