#pragma once

// The client side of ImportContacts: the column mapping (from --map or
// guessed from the CSV header row), a stable import id, and the file cut in
// chunks. Pure logic.

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "dialgrid/contacts/v1/contacts.pb.h"

namespace dialgrid::ctl {

// The column names of a CSV header row (the text up to the first line
// break outside quotes; RFC 4180 quoting, a UTF-8 BOM skipped).
absl::StatusOr<std::vector<std::string>> CsvHeader(absl::string_view text);

// A mapping guessed from the header: id/external_id, first_name, last_name,
// phone* / *_phone / mobile (in order), time_zone, postal_code/zip,
// region/state, country, priority (case and '-', ' ' ignored); with
// `attributes`, every other column becomes an attribute of its own name.
contacts::v1::ColumnMapping GuessMapping(const std::vector<std::string>& header, bool attributes);

// --map field=column (field: external_id, first_name, last_name, phone (repeatable),
// time_zone, postal_code, region, country, priority, attributes.<key>).
absl::StatusOr<contacts::v1::ColumnMapping> ParseMapping(const std::vector<std::string>& maps);

// "ctl-" and 16 hex digits of a 64-bit FNV-1a of the list name and the
// bytes: the same file into the same list gets the same id, so sending it
// again skips the rows already committed.
std::string DefaultImportId(absl::string_view list, absl::string_view bytes);

}  // namespace dialgrid::ctl
