#include "services/common/core/clock.h"

namespace dialgrid {

const Clock& SystemClock::Get() {
  static const SystemClock* clock = new SystemClock();
  return *clock;
}

}  // namespace dialgrid
