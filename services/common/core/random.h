#pragma once

#include <string>

namespace dialgrid {

// `bytes` bytes from the OS CSPRNG (getrandom), hex-encoded. For ids and
// secrets; aborts only if the kernel refuses randomness.
std::string RandomHex(int bytes);

// `bytes` bytes from the OS CSPRNG, base64url without padding.
std::string RandomBase64Url(int bytes);

}  // namespace dialgrid
