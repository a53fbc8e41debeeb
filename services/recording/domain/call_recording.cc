#include "services/recording/domain/call_recording.h"

#include "absl/strings/str_cat.h"
#include "services/common/core/names.h"
#include "services/common/core/text.h"
#include "services/recording/domain/vault_crypto.h"

namespace dialgrid::recording {
namespace {

std::string Derived(absl::string_view prefix, absl::string_view kind, absl::string_view tenant,
                    absl::string_view call_id) {
  return absl::StrCat(prefix, Sha256Hex(absl::StrCat(kind, "\n", tenant, "\n", call_id)).substr(0, 24));
}

// The hold's reason must be plain text (ValidateText): a part that is not
// is left out, never the hold.
std::string Printable(absl::string_view s) {
  return IsPlainText(s) ? std::string(s) : std::string("(not plain text)");
}

// At most `n` bytes of `s`, not cutting a UTF-8 sequence.
std::string Cut(std::string s, size_t n) {
  if (s.size() <= n) return s;
  size_t end = n;
  while (end > 0 && (static_cast<unsigned char>(s[end]) & 0xc0) == 0x80) --end;
  s.resize(end);
  return s;
}

}  // namespace

absl::StatusOr<CallRef> ParseCallName(absl::string_view name) {
  auto ids = ParseName("call.name", name, "tenants/{tenant}/calls/{call}");
  if (!ids.ok()) return ids.status();
  return CallRef{(*ids)[0], (*ids)[1]};
}

CallStep ParseCallStep(absl::string_view step) {
  if (step == "CONNECTED") return CallStep::kConnected;
  if (step == "ENDED" || step == "RECONCILED") return CallStep::kEnded;
  if (step == "ABUSIVE_FLAGGED") return CallStep::kAbusiveFlagged;
  return CallStep::kOther;
}

std::string CallRecordingId(absl::string_view tenant, absl::string_view call_id) {
  return Derived("r", "call-recording", tenant, call_id);
}

std::string AbusiveHoldId(absl::string_view tenant, absl::string_view call_id) {
  return Derived("h", "abusive-hold", tenant, call_id);
}

std::string CallRecordingRequestId(absl::string_view tenant, absl::string_view call_id) {
  return absl::StrCat("calls-start-", CallRecordingId(tenant, call_id));
}

std::string AbusiveHoldRequestId(absl::string_view tenant, absl::string_view call_id) {
  return absl::StrCat("calls-hold-", AbusiveHoldId(tenant, call_id));
}

std::string AbusiveHoldReason(absl::string_view flagged_by, absl::string_view why,
                              size_t max_chars) {
  std::string who = flagged_by.empty() ? std::string("an agent") : Printable(flagged_by);
  std::string text = absl::StrCat("ABUSIVE_CALLER: caller flagged as abusive by ", who,
                                  why.empty() ? "" : ": ", Printable(why));
  return Cut(std::move(text), max_chars);
}

}  // namespace dialgrid::recording
