#pragma once
// A private CA and serving certificates for the webhook (ECDSA P-256, SHA-256), as PEM text.
// Pure computation over OpenSSL; storing and distributing them is certificate_bootstrap's job.

#include <optional>
#include <string>
#include <vector>

#include "operator/common/time.h"

namespace budgetgate::tls {

struct KeyPair {
  std::string certPem;
  std::string keyPem;
};

// Throws std::runtime_error if OpenSSL fails.
KeyPair generateCa(const std::string& commonName, Seconds validity);
KeyPair generateServing(const KeyPair& ca, const std::string& commonName,
                        const std::vector<std::string>& dnsNames, Seconds validity);

struct CertificateInfo {
  TimePoint notBefore{};
  TimePoint notAfter{};
  std::vector<std::string> dnsNames;
};
// nullopt when the PEM does not hold a certificate.
std::optional<CertificateInfo> inspect(const std::string& certPem);

// True when the certificate was signed by the CA's key.
bool signedBy(const std::string& certPem, const std::string& caCertPem);

}  // namespace budgetgate::tls
