// Decoders of stored bytes (records, custody entries, users, upload sessions): a
// damaged index must give Error(corrupt), never a crash.
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "base/error.h"
#include "store/records.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::span<const std::uint8_t> b(data, size);
  try {
    auto r = evidence::EvidenceRecord::decode(b);
    (void)r.encode();
  } catch (const evidence::Error&) {
  }
  try {
    (void)evidence::CustodyEvent::decode(std::string_view(reinterpret_cast<const char*>(data), size));
  } catch (const evidence::Error&) {
  }
  try {
    (void)evidence::User::decode(b);
  } catch (const evidence::Error&) {
  }
  try {
    (void)evidence::UploadSession::decode(b);
  } catch (const evidence::Error&) {
  }
  return 0;
}
