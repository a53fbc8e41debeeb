#!/usr/bin/python3
"""Writes number_time_zones.tsv: phone-number prefixes -> their IANA zones.

The data is libphonenumber's time-zone mapper (PhoneNumberToTimeZonesMapper),
as Debian's python3-phonenumbers ships it: prefixes of the international
number without '+' (country code, area code, for NANP often the exchange:
1850433 is Pensacola, America/Chicago), the longest matching prefix wins.
Prefixes that are a whole country calling code are left out: such a number
says no more than its country, which the resolver answers from zone.tab.

Run at build time (CMake); the output is not kept in the source tree.
Usage: generate_number_zones.py OUTPUT
"""
import os
import sys

try:
    import phonenumbers
    from phonenumbers import tzdata
except ImportError:
    sys.exit("generate_number_zones.py: python3-phonenumbers is not installed "
             "(apt-get install python3-phonenumbers; tools/setup.sh does)")


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    country_codes = {str(cc) for cc in phonenumbers.COUNTRY_CODE_TO_REGION_CODE}
    rows = []
    for prefix, zones in sorted(tzdata.TIMEZONE_DATA.items()):
        if prefix in country_codes:
            continue
        if not prefix.isdigit() or not zones or len(prefix) > 15:
            sys.exit(f"generate_number_zones.py: unexpected entry {prefix!r}: {zones!r}")
        rows.append(f"{prefix}\t{','.join(sorted(zones))}\n")
    if len(rows) < 1000:
        sys.exit(f"generate_number_zones.py: only {len(rows)} prefixes in the mapper's data")
    out = sys.argv[1]
    tmp = out + ".tmp"
    with open(tmp, "w", encoding="ascii") as f:
        f.write("# Phone-number prefix (international, no '+') -> IANA zones, longest prefix\n")
        f.write("# wins. Generated at build time by services/common/geo/generate_number_zones.py\n")
        f.write(f"# from libphonenumber's time-zone mapper data (python3-phonenumbers "
                f"{phonenumbers.__version__}, Apache-2.0). Do not edit.\n")
        f.write("# prefix\tzones\n")
        f.writelines(rows)
    os.replace(tmp, out)


if __name__ == "__main__":
    main()
