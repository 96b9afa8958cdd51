// Two tiny shared libraries that let Debian 12's civetweb serve HTTPS
// (docs/OPERATIONS.md "Securing the HTTP servers"). That civetweb 1.15 is
// built for the OpenSSL 1.1 API and loads OpenSSL at run time as
// "libssl.so" and "libcrypto.so" (dlopen, then dlsym of each function). It
// looks up SSL_get_peer_certificate, which OpenSSL 3 renamed
// SSL_get1_peer_certificate: the lookup finds nothing and civetweb calls a
// null pointer on every HTTPS connection (Debian's own `civetweb` binary
// crashes the same way). Built twice:
//  - ALLIANCE_SHIM_SSL: soname "libssl.so", needs libssl.so.3, and defines
//    the old name;
//  - otherwise: soname "libcrypto.so", needs libcrypto.so.3.
// http::prepare_civetweb_tls() loads both before civetweb starts; glibc then
// answers civetweb's dlopen("libssl.so") / ("libcrypto.so") with them (a
// loaded library matches by soname), and dlsym through them finds
// OpenSSL 3's functions in their dependencies. No libssl-dev at run time.
#include <openssl/err.h>
#include <openssl/ssl.h>

#ifdef ALLIANCE_SHIM_SSL
#undef SSL_get_peer_certificate
extern "C" __attribute__((visibility("default"))) X509* SSL_get_peer_certificate(const SSL* s) {
  return SSL_get1_peer_certificate(s);
}
#else
/// Keeps the dependency on libcrypto.so.3 (nothing calls it).
extern "C" __attribute__((visibility("default"))) unsigned long alliance_civetweb_crypto_shim() {
  return ERR_peek_error();
}
#endif
