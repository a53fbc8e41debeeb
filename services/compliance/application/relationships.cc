#include <algorithm>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/civil_time.h"
#include "services/common/core/errors.h"
#include "services/common/core/names.h"
#include "services/common/core/status_macros.h"
#include "services/compliance/application/compliance_manager.h"
#include "services/compliance/application/request_fields.h"

namespace dialgrid::compliance {

std::string RelationshipKey(const std::string& number, v1::RelationshipKind kind) {
  return absl::StrCat(number, "|", kind == v1::RELATIONSHIP_KIND_TRANSACTION ? "T" : "I");
}

std::string RefusalKey(const std::string& number, const std::string& product) {
  return absl::StrCat(number, "|", product);
}

std::string ContactRefusalKey(const std::string& contact, const std::string& product) {
  return absl::StrCat("c:", contact, "|", product);
}

std::string RefusalKeyOf(const v1::SolicitationRefusal& r) {
  return r.contact().empty() ? RefusalKey(r.phone_number(), r.product())
                             : ContactRefusalKey(r.contact(), r.product());
}

absl::StatusOr<v1::EstablishedRelationship> ComplianceManager::RecordEstablishedRelationship(
    const Actor& actor, const v1::RecordEstablishedRelationshipRequest& req) {
  DG_ASSIGN_OR_RETURN(auto ids, ParseName("parent", req.parent(), "tenants/{tenant}"));
  const v1::EstablishedRelationship& in = req.relationship();
  DG_ASSIGN_OR_RETURN(auto n, Normalize("relationship.phone_number", in.phone_number(),
                                        req.default_country()));
  if (in.kind() == v1::RELATIONSHIP_KIND_UNSPECIFIED) {
    return InvalidField("relationship.kind", "FIELD_REQUIRED",
                        "relationship.kind is required (TRANSACTION or INQUIRY)");
  }
  if (!v1::RelationshipKind_IsValid(in.kind())) {
    // An undefined kind never lifts anything: refused, not stored.
    return InvalidField("relationship.kind", "UNKNOWN_ENUM_VALUE",
                        absl::StrCat("relationship.kind ", static_cast<int>(in.kind()),
                                     " is not defined"));
  }
  if (!in.has_date()) {
    return InvalidField("relationship.date", "FIELD_REQUIRED",
                        "relationship.date is required (the last transaction's or the "
                        "inquiry's date)");
  }
  DG_ASSIGN_OR_RETURN(absl::CivilDay date, DayOf("relationship.date", in.date()));
  const absl::Time now = clock_.Now();
  // Not after today anywhere on earth (UTC+14).
  if (date > absl::ToCivilDay(now, absl::FixedTimeZone(14 * 3600))) {
    return InvalidField("relationship.date", "DATE_IN_FUTURE",
                        "a relationship is recorded once the transaction or inquiry happened");
  }
  DG_RETURN_IF_ERROR(CheckText("relationship.source", in.source(), 500));
  DG_RETURN_IF_ERROR(CheckRequestId(req.request_id()));
  v1::EstablishedRelationship r;
  r.set_phone_number(n.number.e164());
  r.set_kind(in.kind());
  *r.mutable_date() = DateOf(date);
  r.set_source(in.source());
  r.set_name(absl::StrCat("tenants/", ids[0], "/establishedRelationships/tel-",
                          n.number.e164().substr(1), "-",
                          in.kind() == v1::RELATIONSHIP_KIND_TRANSACTION ? "transaction"
                                                                         : "inquiry"));
  r.set_recorded_by(actor.subject);
  *r.mutable_record_time() = ToProto(now);
  v1::EstablishedRelationshipChanged changed;
  *changed.mutable_relationship() = r;
  return store_->PutRelationship(ids[0], r, Event(actor, ids[0], r.name(), changed),
                                 ChangeKey("RecordEstablishedRelationship", req.request_id(), req));
}

absl::StatusOr<v1::ListEstablishedRelationshipsResponse>
ComplianceManager::ListEstablishedRelationships(const v1::ListEstablishedRelationshipsRequest& req) {
  DG_ASSIGN_OR_RETURN(auto ids, ParseName("parent", req.parent(), "tenants/{tenant}"));
  const std::string listing = absl::StrCat(req.parent(), "/establishedRelationships");
  DG_ASSIGN_OR_RETURN(PageRequest page, ParsePage(req.page_size(), req.page_token(), listing));
  DG_ASSIGN_OR_RETURN(auto records, store_->ListRelationships(ids[0], page.after, page.size + 1));
  v1::ListEstablishedRelationshipsResponse resp;
  for (size_t i = 0; i < records.size() && static_cast<int>(i) < page.size; ++i) {
    *resp.add_relationships() = std::move(records[i]);
  }
  if (static_cast<int>(records.size()) > page.size) {
    const auto& last = resp.relationships(page.size - 1);
    resp.set_next_page_token(PageToken(listing, RelationshipKey(last.phone_number(), last.kind())));
  }
  return resp;
}

absl::StatusOr<v1::SolicitationRefusal> ComplianceManager::RecordSolicitationRefusal(
    const Actor& actor, const v1::RecordSolicitationRefusalRequest& req) {
  DG_ASSIGN_OR_RETURN(auto ids, ParseName("parent", req.parent(), "tenants/{tenant}"));
  const v1::SolicitationRefusal& in = req.refusal();
  // The person (a contact of this tenant: every number dialed for it) or the
  // number (whoever answers it): exactly one.
  std::vector<std::string> contact_ids;
  std::string number;
  if (!in.contact().empty()) {
    DG_ASSIGN_OR_RETURN(contact_ids, ParseName("refusal.contact", in.contact(), kContactPattern));
    if (contact_ids[0] != ids[0]) return TenantMismatch("refusal.contact");
    if (!in.phone_number().empty()) {
      return InvalidField("refusal.phone_number", "REFUSAL_TARGET_CONFLICT",
                          "a refusal names the contact (every number dialed for it) or the "
                          "number, not both; record two refusals for both");
    }
  } else {
    DG_ASSIGN_OR_RETURN(auto n, Normalize("refusal.phone_number", in.phone_number(),
                                          req.default_country()));
    number = n.number.e164();
  }
  DG_RETURN_IF_ERROR(CheckProduct("refusal.product", in.product()));
  if (!in.has_refuse_time()) {
    return InvalidField("refusal.refuse_time", "FIELD_REQUIRED",
                        "refusal.refuse_time is required (when the callee refused)");
  }
  const absl::Time now = clock_.Now();
  absl::Time at = FromProto(in.refuse_time());
  if (at > now + absl::Minutes(5)) {
    return InvalidField("refusal.refuse_time", "TIME_IN_FUTURE",
                        "a refusal is recorded once the callee has refused");
  }
  at = std::min(at, now);  // clock skew: never later than now
  DG_RETURN_IF_ERROR(CheckText("refusal.source", in.source(), 500));
  DG_RETURN_IF_ERROR(CheckRequestId(req.request_id()));
  v1::SolicitationRefusal r;
  r.set_phone_number(number);
  r.set_contact(in.contact());
  r.set_product(in.product());
  *r.mutable_refuse_time() = ToProto(at);
  r.set_source(in.source());
  if (number.empty()) {
    // Ids are [a-z0-9-]: the first '.' ends the list, the second the contact.
    r.set_name(absl::StrCat("tenants/", ids[0], "/solicitationRefusals/contact-", contact_ids[1],
                            ".", contact_ids[2],
                            in.product().empty() ? "" : absl::StrCat(".", in.product())));
  } else {
    r.set_name(absl::StrCat("tenants/", ids[0], "/solicitationRefusals/tel-", number.substr(1),
                            in.product().empty() ? "" : absl::StrCat("-", in.product())));
  }
  r.set_recorded_by(actor.subject);
  *r.mutable_record_time() = ToProto(now);
  v1::SolicitationRefusalRecorded recorded;
  *recorded.mutable_refusal() = r;
  return store_->PutRefusal(ids[0], r, Event(actor, ids[0], r.name(), recorded),
                            ChangeKey("RecordSolicitationRefusal", req.request_id(), req));
}

absl::StatusOr<v1::ListSolicitationRefusalsResponse> ComplianceManager::ListSolicitationRefusals(
    const v1::ListSolicitationRefusalsRequest& req) {
  DG_ASSIGN_OR_RETURN(auto ids, ParseName("parent", req.parent(), "tenants/{tenant}"));
  const std::string listing = absl::StrCat(req.parent(), "/solicitationRefusals");
  DG_ASSIGN_OR_RETURN(PageRequest page, ParsePage(req.page_size(), req.page_token(), listing));
  DG_ASSIGN_OR_RETURN(auto records, store_->ListRefusals(ids[0], page.after, page.size + 1));
  v1::ListSolicitationRefusalsResponse resp;
  for (size_t i = 0; i < records.size() && static_cast<int>(i) < page.size; ++i) {
    *resp.add_refusals() = std::move(records[i]);
  }
  if (static_cast<int>(records.size()) > page.size) {
    const auto& last = resp.refusals(page.size - 1);
    resp.set_next_page_token(PageToken(listing, RefusalKeyOf(last)));
  }
  return resp;
}

}  // namespace dialgrid::compliance
