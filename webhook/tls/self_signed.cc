#include "webhook/tls/self_signed.h"

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <memory>
#include <stdexcept>

namespace budgetgate::tls {
namespace {

template <typename T, void (*Free)(T*)>
struct Deleter {
  void operator()(T* p) const { Free(p); }
};
using Key = std::unique_ptr<EVP_PKEY, Deleter<EVP_PKEY, EVP_PKEY_free>>;
using Cert = std::unique_ptr<X509, Deleter<X509, X509_free>>;
using Bio = std::unique_ptr<BIO, Deleter<BIO, BIO_free_all>>;

void check(bool ok, const char* what) {
  if (!ok) throw std::runtime_error(std::string("OpenSSL: ") + what);
}

Key newKey() {
  Key key(EVP_EC_gen("P-256"));
  check(key != nullptr, "generating an EC key");
  return key;
}

std::string pemOf(X509* cert) {
  Bio bio(BIO_new(BIO_s_mem()));
  check(PEM_write_bio_X509(bio.get(), cert) == 1, "writing certificate");
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<std::size_t>(n));
}

std::string pemOf(EVP_PKEY* key) {
  Bio bio(BIO_new(BIO_s_mem()));
  check(PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr) == 1,
        "writing key");
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<std::size_t>(n));
}

Cert certFrom(const std::string& pem) {
  Bio bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  return Cert(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
}

Key keyFrom(const std::string& pem) {
  Bio bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  return Key(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
}

void addExtension(X509* cert, X509* issuer, int nid, const std::string& value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str());
  check(ext != nullptr, "building an extension");
  X509_add_ext(cert, ext, -1);
  X509_EXTENSION_free(ext);
}

Cert newCert(EVP_PKEY* key, const std::string& cn, Seconds validity) {
  Cert cert(X509_new());
  check(cert != nullptr, "allocating a certificate");
  X509_set_version(cert.get(), 2);
  unsigned char serial[16];
  check(RAND_bytes(serial, sizeof(serial)) == 1, "random serial");
  serial[0] &= 0x7f;
  BIGNUM* bn = BN_bin2bn(serial, sizeof(serial), nullptr);
  BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(cert.get()));
  BN_free(bn);
  // Backdated a little: nodes with a slightly slow clock must accept it at once.
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), static_cast<long>(validity.count()));
  X509_set_pubkey(cert.get(), key);
  X509_NAME* name = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
                             reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1, 0);
  X509_NAME_add_entry_by_txt(name, "O", MBSTRING_UTF8,
                             reinterpret_cast<const unsigned char*>("budgetgate"), -1, -1, 0);
  return cert;
}

TimePoint timeOf(const ASN1_TIME* t) {
  struct tm tm {};
  ASN1_TIME_to_tm(t, &tm);
  return TimePoint(Seconds(timegm(&tm)));
}

}  // namespace

KeyPair generateCa(const std::string& commonName, Seconds validity) {
  Key key = newKey();
  Cert cert = newCert(key.get(), commonName, validity);
  X509_set_issuer_name(cert.get(), X509_get_subject_name(cert.get()));
  addExtension(cert.get(), cert.get(), NID_basic_constraints, "critical,CA:TRUE,pathlen:0");
  addExtension(cert.get(), cert.get(), NID_key_usage, "critical,keyCertSign,cRLSign");
  addExtension(cert.get(), cert.get(), NID_subject_key_identifier, "hash");
  check(X509_sign(cert.get(), key.get(), EVP_sha256()) > 0, "signing the CA");
  return {pemOf(cert.get()), pemOf(key.get())};
}

KeyPair generateServing(const KeyPair& ca, const std::string& commonName,
                        const std::vector<std::string>& dnsNames, Seconds validity) {
  Cert caCert = certFrom(ca.certPem);
  Key caKey = keyFrom(ca.keyPem);
  check(caCert && caKey, "reading the CA");
  Key key = newKey();
  Cert cert = newCert(key.get(), commonName, validity);
  X509_set_issuer_name(cert.get(), X509_get_subject_name(caCert.get()));
  std::string san;
  for (const auto& d : dnsNames) san += (san.empty() ? "DNS:" : ",DNS:") + d;
  addExtension(cert.get(), caCert.get(), NID_basic_constraints, "critical,CA:FALSE");
  addExtension(cert.get(), caCert.get(), NID_key_usage,
               "critical,digitalSignature,keyEncipherment");
  addExtension(cert.get(), caCert.get(), NID_ext_key_usage, "serverAuth");
  if (!san.empty()) addExtension(cert.get(), caCert.get(), NID_subject_alt_name, san);
  check(X509_sign(cert.get(), caKey.get(), EVP_sha256()) > 0, "signing the serving certificate");
  return {pemOf(cert.get()), pemOf(key.get())};
}

std::optional<CertificateInfo> inspect(const std::string& certPem) {
  Cert cert = certFrom(certPem);
  if (!cert) return std::nullopt;
  CertificateInfo info;
  info.notBefore = timeOf(X509_get0_notBefore(cert.get()));
  info.notAfter = timeOf(X509_get0_notAfter(cert.get()));
  auto* names = static_cast<GENERAL_NAMES*>(
      X509_get_ext_d2i(cert.get(), NID_subject_alt_name, nullptr, nullptr));
  if (names != nullptr) {
    for (int i = 0; i < sk_GENERAL_NAME_num(names); ++i) {
      const GENERAL_NAME* n = sk_GENERAL_NAME_value(names, i);
      if (n->type == GEN_DNS) {
        const auto* s = n->d.dNSName;
        info.dnsNames.emplace_back(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                                   static_cast<std::size_t>(ASN1_STRING_length(s)));
      }
    }
    GENERAL_NAMES_free(names);
  }
  return info;
}

bool signedBy(const std::string& certPem, const std::string& caCertPem) {
  Cert cert = certFrom(certPem);
  Cert ca = certFrom(caCertPem);
  if (!cert || !ca) return false;
  EVP_PKEY* caKey = X509_get0_pubkey(ca.get());
  return caKey != nullptr && X509_verify(cert.get(), caKey) == 1;
}

}  // namespace budgetgate::tls
