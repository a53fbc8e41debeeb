#include "tools/dialgridctl/ctl_yaml.h"

#include <regex>

#include <yaml-cpp/yaml.h>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "services/common/core/log.h"

namespace dialgrid::ctl {
namespace {

bool IsJsonNumber(const std::string& s) {
  static const std::regex kNumber(R"(-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][-+]?[0-9]+)?)");
  return std::regex_match(s, kNumber);
}

std::string Quote(const std::string& s) { return absl::StrCat("\"", JsonEscape(s), "\""); }

absl::Status Emit(const YAML::Node& node, std::string& out) {
  switch (node.Type()) {
    case YAML::NodeType::Undefined:
    case YAML::NodeType::Null:
      out += "null";
      return absl::OkStatus();
    case YAML::NodeType::Scalar: {
      const std::string& v = node.Scalar();
      if (node.Tag() == "!") {  // quoted: always a string
        out += Quote(v);
      } else if (v == "true" || v == "True" || v == "TRUE") {
        out += "true";
      } else if (v == "false" || v == "False" || v == "FALSE") {
        out += "false";
      } else if (v.empty() || v == "~" || v == "null" || v == "Null" || v == "NULL") {
        out += "null";
      } else if (IsJsonNumber(v)) {
        out += v;
      } else {
        out += Quote(v);
      }
      return absl::OkStatus();
    }
    case YAML::NodeType::Sequence: {
      out += "[";
      bool first = true;
      for (const auto& item : node) {
        if (!first) out += ",";
        first = false;
        absl::Status st = Emit(item, out);
        if (!st.ok()) return st;
      }
      out += "]";
      return absl::OkStatus();
    }
    case YAML::NodeType::Map: {
      out += "{";
      bool first = true;
      for (const auto& kv : node) {
        if (!kv.first.IsScalar()) {
          return absl::InvalidArgumentError(absl::StrCat(
              "line ", kv.first.Mark().line + 1, ": a mapping key must be a plain name"));
        }
        if (!first) out += ",";
        first = false;
        out += Quote(kv.first.Scalar());
        out += ":";
        absl::Status st = Emit(kv.second, out);
        if (!st.ok()) return st;
      }
      out += "}";
      return absl::OkStatus();
    }
  }
  return absl::InvalidArgumentError("unknown YAML node");
}

}  // namespace

absl::StatusOr<std::string> YamlToJson(absl::string_view text) {
  YAML::Node root;
  try {
    root = YAML::Load(std::string(text));
  } catch (const YAML::Exception& e) {
    return absl::InvalidArgumentError(absl::StrCat("line ", e.mark.line + 1, ", column ",
                                                   e.mark.column + 1, ": ", e.msg));
  }
  if (!root.IsMap()) return absl::InvalidArgumentError("the document is not a mapping of fields");
  std::string out;
  absl::Status st = Emit(root, out);
  if (!st.ok()) return st;
  return out;
}

bool IsYamlFile(absl::string_view path) {
  const std::string lower = absl::AsciiStrToLower(path);
  return absl::EndsWith(lower, ".yaml") || absl::EndsWith(lower, ".yml");
}

}  // namespace dialgrid::ctl
