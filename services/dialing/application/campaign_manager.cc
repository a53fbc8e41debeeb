#include "services/dialing/application/campaign_manager.h"

#include <set>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/io/zero_copy_stream_impl_lite.h"
#include "services/common/core/errors.h"
#include "services/common/core/names.h"
#include "services/common/core/pages.h"
#include "services/common/core/proto_time.h"
#include "services/common/core/random.h"
#include "services/common/core/request_ids.h"
#include "services/common/core/status_macros.h"
#include "services/common/core/text.h"
#include "services/common/kafka/event_publisher.h"

namespace dialgrid::dialing {
namespace {

// A stable fingerprint of a request (deterministic serialization, FNV-1a
// 64): the same request retried gives the same one in every process.
std::string Fingerprint(const google::protobuf::Message& m) {
  std::string bytes;
  {
    google::protobuf::io::StringOutputStream out(&bytes);
    google::protobuf::io::CodedOutputStream coded(&out);
    coded.SetSerializationDeterministic(true);
    m.SerializeToCodedStream(&coded);
  }
  uint64_t h = 1469598103934665603ULL;
  for (unsigned char c : bytes) {
    h ^= c;
    h *= 1099511628211ULL;
  }
  return absl::StrCat(absl::Hex(h, absl::kZeroPad16), ":", bytes.size());
}

}  // namespace

absl::StatusOr<CampaignKey> ParseCampaignName(absl::string_view field, absl::string_view name) {
  DG_ASSIGN_OR_RETURN(std::vector<std::string> ids,
                      ParseName(field, name, "tenants/{tenant}/campaigns/{campaign}"));
  return CampaignKey{ids[0], ids[1]};
}

CampaignManager::CampaignManager(std::shared_ptr<CampaignStore> store,
                                 std::shared_ptr<ContactLists> lists, const Clock& clock,
                                 CampaignOptions options)
    : store_(std::move(store)),
      lists_(std::move(lists)),
      clock_(clock),
      options_(std::move(options)) {}

std::string CampaignManager::NewEtag() const { return RandomHex(8); }

absl::StatusOr<v1::Campaign> CampaignManager::Parse(const StoredCampaign& stored) const {
  v1::Campaign c;
  if (!c.ParseFromString(stored.definition)) {
    return absl::DataLossError("a stored campaign does not parse");
  }
  c.set_etag(stored.etag);
  return c;
}

absl::StatusOr<v1::Campaign> CampaignManager::Create(const v1::CreateCampaignRequest& req,
                                                     const Caller& caller) {
  DG_ASSIGN_OR_RETURN(std::vector<std::string> parent,
                      ParseName("parent", req.parent(), "tenants/{tenant}"));
  const std::string& tenant = parent[0];
  if (req.campaign_id().empty()) {
    return InvalidField("campaign_id", "FIELD_REQUIRED", "a campaign id is required");
  }
  DG_RETURN_IF_ERROR(ValidateResourceId("campaign_id", req.campaign_id()));
  DG_RETURN_IF_ERROR(ValidateRequestId(req.request_id()));
  v1::Campaign c = req.campaign();
  ApplyDefaults(c, caller.time_zone);
  DG_RETURN_IF_ERROR(ValidateCampaign(tenant, c));
  if (lists_) {
    std::vector<std::string> names(c.contact_lists().begin(), c.contact_lists().end());
    DG_RETURN_IF_ERROR(lists_->CheckExist(names, caller.deadline));
  }
  c.set_name(absl::StrCat("tenants/", tenant, "/campaigns/", req.campaign_id()));
  c.set_state(v1::CAMPAIGN_STATE_DRAFT);
  c.clear_state_reason();
  const absl::Time now = clock_.Now();
  *c.mutable_create_time() = ToTimestamp(now);
  *c.mutable_update_time() = ToTimestamp(now);
  c.clear_etag();
  const std::string etag = NewEtag();
  v1::CreateCampaignRequest fingerprinted = req;
  fingerprinted.clear_request_id();
  v1::Campaign event = c;
  event.set_etag(etag);
  Events events = {kafka::MakeEnvelope(tenant, c.name(), event, options_.producer, clock_)};
  const CampaignKey key{tenant, req.campaign_id()};
  DG_ASSIGN_OR_RETURN(std::vector<std::string> claimed, ClaimNumbers(key, nullptr, c));
  auto created = store_->Create(tenant, req.campaign_id(), {c.SerializeAsString(), etag},
                                req.request_id(),
                                absl::StrCat(Fingerprint(fingerprinted), "|", caller.actor), events);
  if (!created.ok()) {
    ReleaseNumbers(key, claimed);
    return created.status();
  }
  if (*created == CampaignStore::Created::kReplayed) {
    return Get(CampaignKey{tenant, req.campaign_id()});
  }
  c.set_etag(etag);
  return c;
}

absl::StatusOr<v1::Campaign> CampaignManager::Get(const CampaignKey& key) {
  DG_ASSIGN_OR_RETURN(StoredCampaign stored, store_->Get(key.tenant, key.id));
  return Parse(stored);
}

absl::StatusOr<v1::ListCampaignsResponse> CampaignManager::List(
    const v1::ListCampaignsRequest& req) {
  DG_ASSIGN_OR_RETURN(std::vector<std::string> parent,
                      ParseName("parent", req.parent(), "tenants/{tenant}"));
  DG_ASSIGN_OR_RETURN(int size, EffectivePageSize(req.page_size()));
  DG_ASSIGN_OR_RETURN(std::string after, DecodePageToken(req.page_token()));
  if (!after.empty() && !ValidateResourceId("page_token", after).ok()) {
    return InvalidField("page_token", "INVALID_PAGE_TOKEN", "not a token this service issued");
  }
  DG_ASSIGN_OR_RETURN(std::vector<std::string> ids, store_->ListIds(parent[0], after, size + 1));
  v1::ListCampaignsResponse resp;
  for (size_t i = 0; i < ids.size() && static_cast<int>(i) < size; ++i) {
    auto stored = store_->Get(parent[0], ids[i]);
    if (!stored.ok()) {
      if (stored.status().code() == absl::StatusCode::kNotFound) continue;  // deleted meanwhile
      return stored.status();
    }
    DG_ASSIGN_OR_RETURN(*resp.add_campaigns(), Parse(*stored));
  }
  if (static_cast<int>(ids.size()) > size) {
    resp.set_next_page_token(EncodePageToken(ids[size - 1]));
  }
  return resp;
}

absl::StatusOr<v1::Campaign> CampaignManager::Update(const v1::Campaign& patch,
                                                     const std::vector<std::string>& mask,
                                                     const Caller& caller) {
  DG_ASSIGN_OR_RETURN(CampaignKey key, ParseCampaignName("campaign.name", patch.name()));
  DG_RETURN_IF_ERROR(CheckPatchReferences(key.tenant, patch, mask));
  bool lists_checked = false;
  for (int attempt = 0; attempt < options_.max_attempts; ++attempt) {
    DG_ASSIGN_OR_RETURN(StoredCampaign stored, store_->Get(key.tenant, key.id));
    DG_ASSIGN_OR_RETURN(v1::Campaign current, Parse(stored));
    if (!patch.etag().empty() && patch.etag() != stored.etag) {
      return Aborted("ETAG_MISMATCH", "the campaign was changed since it was read");
    }
    DG_ASSIGN_OR_RETURN(v1::Campaign next, ApplyCampaignUpdate(current, patch, mask));
    ApplyDefaults(next, caller.time_zone);
    DG_RETURN_IF_ERROR(ValidateCampaign(key.tenant, next));
    if (lists_ && !lists_checked) {
      std::vector<std::string> names(next.contact_lists().begin(), next.contact_lists().end());
      DG_RETURN_IF_ERROR(lists_->CheckExist(names, caller.deadline));
      lists_checked = true;
    }
    *next.mutable_update_time() = ToTimestamp(clock_.Now());
    next.clear_etag();
    const std::string etag = NewEtag();
    v1::Campaign event = next;
    event.set_etag(etag);
    Events events = {kafka::MakeEnvelope(key.tenant, next.name(), event, options_.producer, clock_)};
    DG_ASSIGN_OR_RETURN(std::vector<std::string> claimed, ClaimNumbers(key, &current, next));
    absl::Status st = store_->Replace(key.tenant, key.id, stored.etag,
                                      {next.SerializeAsString(), etag},
                                      next.state() == v1::CAMPAIGN_STATE_RUNNING, events);
    if (st.ok()) {
      std::set<std::string> kept(next.inbound().numbers().begin(), next.inbound().numbers().end());
      std::vector<std::string> dropped;
      for (const auto& n : current.inbound().numbers()) {
        if (kept.count(n) == 0) dropped.push_back(n);
      }
      ReleaseNumbers(key, dropped);
      next.set_etag(etag);
      return next;
    }
    ReleaseNumbers(key, claimed);
    if (ReasonOf(st) != "ETAG_MISMATCH" || !patch.etag().empty()) return st;
  }
  return Aborted("ETAG_MISMATCH", "the campaign keeps changing; retry");
}

absl::Status CampaignManager::Delete(const CampaignKey& key, absl::string_view etag,
                                     const Caller& caller) {
  DG_ASSIGN_OR_RETURN(StoredCampaign stored, store_->Get(key.tenant, key.id));
  DG_ASSIGN_OR_RETURN(v1::Campaign current, Parse(stored));
  if (!etag.empty() && etag != stored.etag) {
    return Aborted("ETAG_MISMATCH", "the campaign was changed since it was read");
  }
  DG_RETURN_IF_ERROR(NextState(current.state(), CampaignAction::kDelete).status());
  v1::CampaignStateChanged deleted;
  *deleted.mutable_campaign() = current;
  deleted.set_previous_state(current.state());
  deleted.mutable_campaign()->set_state(v1::CAMPAIGN_STATE_UNSPECIFIED);
  deleted.mutable_campaign()->set_state_reason("deleted");
  deleted.set_actor(caller.actor);
  Events events = {kafka::MakeEnvelope(key.tenant, current.name(), deleted, options_.producer, clock_)};
  DG_RETURN_IF_ERROR(store_->Delete(key.tenant, key.id, stored.etag, events));
  ReleaseNumbers(key, {current.inbound().numbers().begin(), current.inbound().numbers().end()});
  return absl::OkStatus();
}

absl::StatusOr<std::vector<std::string>> CampaignManager::ClaimNumbers(
    const CampaignKey& key, const v1::Campaign* current, const v1::Campaign& next) {
  const std::string me = absl::StrCat(key.tenant, "/", key.id);
  std::set<std::string> had;
  if (current != nullptr) had.insert(current->inbound().numbers().begin(), current->inbound().numbers().end());
  std::vector<std::string> claimed;
  auto fail = [&](absl::Status st) {
    ReleaseNumbers(key, claimed);
    return st;
  };
  for (const auto& number : next.inbound().numbers()) {
    if (had.count(number) > 0) continue;
    auto holder = store_->InboundNumberHolder(number);
    if (!holder.ok()) return fail(holder.status());
    if (*holder == me) continue;
    if (!holder->empty()) {
      // Another campaign's, unless it no longer lists the number (a claim
      // left behind by a write that failed).
      std::vector<std::string> parts = absl::StrSplit(*holder, absl::MaxSplits('/', 1));
      bool listed = false;
      if (parts.size() == 2) {
        auto other = store_->Get(parts[0], parts[1]);
        if (!other.ok() && other.status().code() != absl::StatusCode::kNotFound) {
          return fail(other.status());
        }
        v1::Campaign c;
        if (other.ok() && c.ParseFromString(other->definition)) {
          for (const auto& n : c.inbound().numbers()) listed = listed || n == number;
        }
      }
      if (listed) {
        // The same answer whether the holder is this tenant's or another's:
        // only that the number is not free.
        return fail(AlreadyExists("INBOUND_NUMBER_TAKEN",
                                  absl::StrCat(number, " already reaches another campaign")));
      }
    }
    auto swapped = store_->SwapInboundNumberHolder(number, *holder, me);
    if (!swapped.ok()) return fail(swapped.status());
    if (!*swapped) {
      return fail(AlreadyExists("INBOUND_NUMBER_TAKEN",
                                absl::StrCat(number, " was just taken by another campaign")));
    }
    claimed.push_back(number);
  }
  return claimed;
}

void CampaignManager::ReleaseNumbers(const CampaignKey& key,
                                     const std::vector<std::string>& numbers) {
  const std::string me = absl::StrCat(key.tenant, "/", key.id);
  for (const auto& number : numbers) (void)store_->SwapInboundNumberHolder(number, me, "");
}

absl::StatusOr<v1::Campaign> CampaignManager::Transition(const CampaignKey& key,
                                                         CampaignAction action,
                                                         absl::string_view reason,
                                                         const Caller& caller) {
  const bool needs_reason = action == CampaignAction::kPause || action == CampaignAction::kStop;
  if (needs_reason) {
    if (reason.empty()) return InvalidField("reason", "FIELD_REQUIRED", "say why");
    if (reason.size() > 200) return InvalidField("reason", "FIELD_TOO_LONG", "at most 200 characters");
    DG_RETURN_IF_ERROR(ValidateText("reason", reason));
  }
  for (int attempt = 0; attempt < options_.max_attempts; ++attempt) {
    DG_ASSIGN_OR_RETURN(StoredCampaign stored, store_->Get(key.tenant, key.id));
    DG_ASSIGN_OR_RETURN(v1::Campaign current, Parse(stored));
    DG_ASSIGN_OR_RETURN(v1::CampaignState next_state, NextState(current.state(), action));
    if (action == CampaignAction::kStart && lists_) {
      // The lists may have been deleted since the campaign was written.
      std::vector<std::string> names(current.contact_lists().begin(),
                                     current.contact_lists().end());
      DG_RETURN_IF_ERROR(lists_->CheckExist(names, caller.deadline));
    }
    v1::Campaign next = current;
    next.set_state(next_state);
    next.set_state_reason(needs_reason ? std::string(reason) : std::string());
    *next.mutable_update_time() = ToTimestamp(clock_.Now());
    next.clear_etag();
    const std::string etag = NewEtag();
    v1::CampaignStateChanged changed;
    *changed.mutable_campaign() = next;
    changed.mutable_campaign()->set_etag(etag);
    changed.set_previous_state(current.state());
    changed.set_actor(caller.actor);
    Events events = {kafka::MakeEnvelope(key.tenant, next.name(), changed, options_.producer, clock_)};
    absl::Status st = store_->Replace(key.tenant, key.id, stored.etag,
                                      {next.SerializeAsString(), etag},
                                      next_state == v1::CAMPAIGN_STATE_RUNNING, events);
    if (st.ok()) {
      next.set_etag(etag);
      return next;
    }
    if (ReasonOf(st) != "ETAG_MISMATCH") return st;
  }
  return Aborted("ETAG_MISMATCH", "the campaign keeps changing; retry");
}

}  // namespace dialgrid::dialing
