#include "services/common/server/request_checks.h"

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "google/protobuf/descriptor.h"
#include "services/common/core/errors.h"

namespace dialgrid {
namespace {

using google::protobuf::EnumDescriptor;
using google::protobuf::FieldDescriptor;
using google::protobuf::Message;
using google::protobuf::Reflection;

// Deeper than any request of ours; protobuf's parser stops at 100.
constexpr int kMaxDepth = 64;

absl::Status Undefined(const std::string& path, const EnumDescriptor& type, int value) {
  return InvalidField(path, "UNKNOWN_ENUM_VALUE",
                      absl::StrCat(path, ": ", value, " is not a defined ", type.name(),
                                   " value"));
}

absl::Status Walk(const Message& m, const std::string& prefix, int depth) {
  if (depth > kMaxDepth) {
    return InvalidField(prefix, "MESSAGE_TOO_DEEP", "the request nests messages too deeply");
  }
  if (m.GetDescriptor()->full_name() == "google.protobuf.Any") return absl::OkStatus();
  const Reflection* r = m.GetReflection();
  std::vector<const FieldDescriptor*> fields;
  r->ListFields(m, &fields);  // only the fields that are set
  for (const FieldDescriptor* f : fields) {
    std::string path = prefix.empty() ? f->name() : absl::StrCat(prefix, ".", f->name());
    if (f->type() == FieldDescriptor::TYPE_ENUM) {
      const EnumDescriptor& type = *f->enum_type();
      if (f->is_repeated()) {
        for (int i = 0, n = r->FieldSize(m, f); i < n; ++i) {
          int v = r->GetRepeatedEnumValue(m, f, i);
          if (type.FindValueByNumber(v) == nullptr) {
            return Undefined(absl::StrCat(path, "[", i, "]"), type, v);
          }
        }
      } else {
        int v = r->GetEnumValue(m, f);
        if (type.FindValueByNumber(v) == nullptr) return Undefined(path, type, v);
      }
    } else if (f->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE) {
      if (f->is_repeated()) {
        for (int i = 0, n = r->FieldSize(m, f); i < n; ++i) {
          absl::Status st = Walk(r->GetRepeatedMessage(m, f, i), absl::StrCat(path, "[", i, "]"),
                                 depth + 1);
          if (!st.ok()) return st;
        }
      } else {
        absl::Status st = Walk(r->GetMessage(m, f), path, depth + 1);
        if (!st.ok()) return st;
      }
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status CheckEnumValues(const google::protobuf::Message& request) {
  return Walk(request, "", 0);
}

}  // namespace dialgrid
