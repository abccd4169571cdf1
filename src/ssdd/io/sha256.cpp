#include "ssdd/io/sha256.h"

#include <openssl/evp.h>

#include <array>
#include <fstream>
#include <memory>

#include "ssdd/core/error.h"

namespace ssdd::io {

FileDigest sha256_of_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw DataError(path, "a readable file", "none (missing or unreadable)");
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> context(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  if (!context || EVP_DigestInit_ex(context.get(), EVP_sha256(), nullptr) != 1)
    throw Error("sha256: OpenSSL could not start a digest");
  FileDigest digest;
  std::array<char, 1 << 16> buffer;
  while (in) {
    in.read(buffer.data(), buffer.size());
    const auto got = static_cast<size_t>(in.gcount());
    if (got == 0) break;
    EVP_DigestUpdate(context.get(), buffer.data(), got);
    digest.bytes += got;
  }
  if (in.bad()) throw DataError(path, "a readable file", "a read error after " + std::to_string(digest.bytes) + " bytes");
  std::array<unsigned char, EVP_MAX_MD_SIZE> md;
  unsigned int length = 0;
  EVP_DigestFinal_ex(context.get(), md.data(), &length);
  static const char* hex = "0123456789abcdef";
  for (unsigned int i = 0; i < length; ++i) {
    digest.sha256 += hex[md[i] >> 4];
    digest.sha256 += hex[md[i] & 15];
  }
  return digest;
}

}  // namespace ssdd::io
