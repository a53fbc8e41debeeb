#pragma once

#include <mutex>
#include <string>

#include "prometheus/counter.h"
#include "prometheus/gauge.h"
#include "prometheus/registry.h"
#include "services/common/tls/tls_files.h"

namespace dialgrid {

// The metrics of a certificate followed on disk (TlsFiles), the same for a
// gRPC port and the wallboard's HTTPS port:
//   dialgrid_<component>_tls_certificate_expiry_timestamp_seconds
//   dialgrid_<component>_tls_reloads_total{result="taken"|"refused"}
class TlsFileMetrics {
 public:
  TlsFileMetrics(prometheus::Registry& registry, const std::string& component,
                 const TlsFiles& files);
  // Brings the metrics up to date with the files (call before each scrape).
  void Update();

 private:
  const TlsFiles& files_;
  prometheus::Gauge* expiry_;
  prometheus::Counter* taken_;
  prometheus::Counter* refused_;
  std::mutex mu_;
  int seen_taken_ = 0, seen_refused_ = 0;
};

}  // namespace dialgrid
