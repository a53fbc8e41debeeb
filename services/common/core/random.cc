#include "services/common/core/random.h"

#include <sys/random.h>

#include <cstdlib>
#include <string>

#include "absl/strings/escaping.h"

namespace dialgrid {
namespace {

std::string RandomBytes(int bytes) {
  std::string out(static_cast<size_t>(bytes), '\0');
  size_t got = 0;
  while (got < out.size()) {
    ssize_t n = getrandom(out.data() + got, out.size() - got, 0);
    if (n < 0) std::abort();  // No entropy source: nothing safe to do.
    got += static_cast<size_t>(n);
  }
  return out;
}

}  // namespace

std::string RandomHex(int bytes) { return absl::BytesToHexString(RandomBytes(bytes)); }

std::string RandomBase64Url(int bytes) { return absl::WebSafeBase64Escape(RandomBytes(bytes)); }

}  // namespace dialgrid
