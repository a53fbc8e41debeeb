#include "services/common/tls/tls_metrics.h"

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"

namespace dialgrid {

TlsFileMetrics::TlsFileMetrics(prometheus::Registry& registry, const std::string& component,
                               const TlsFiles& files)
    : files_(files) {
  expiry_ = &prometheus::BuildGauge()
                 .Name(absl::StrCat("dialgrid_", component, "_tls_certificate_expiry_timestamp_seconds"))
                 .Help("When the served certificate expires (Unix time)")
                 .Register(registry)
                 .Add({});
  auto& reloads = prometheus::BuildCounter()
                      .Name(absl::StrCat("dialgrid_", component, "_tls_reloads_total"))
                      .Help("Certificate/key pairs read again: taken, or refused (the key "
                            "does not match; the last good pair keeps serving)")
                      .Register(registry);
  taken_ = &reloads.Add({{"result", "taken"}});
  refused_ = &reloads.Add({{"result", "refused"}});
  Update();
}

void TlsFileMetrics::Update() {
  std::lock_guard<std::mutex> lock(mu_);
  const absl::Time not_after = files_.not_after();
  if (not_after != absl::InfiniteFuture()) expiry_->Set(static_cast<double>(absl::ToUnixSeconds(not_after)));
  const int taken = files_.reloads(), refused = files_.refusals();
  taken_->Increment(taken - seen_taken_);
  refused_->Increment(refused - seen_refused_);
  seen_taken_ = taken;
  seen_refused_ = refused;
}

}  // namespace dialgrid
