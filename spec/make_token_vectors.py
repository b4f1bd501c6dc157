#!/usr/bin/env python3
"""Writes spec/token-vectors.json: the normalized forms below are the specification (written by
hand from the rules in docs/partners.md); the tokens are computed by the openssl tool, independently
of both implementations that are tested against the file."""
import json, os, subprocess
SALT = "c0ffee00" + "".join(f"{i:02x}" for i in range(28))
E, P = "email-v1", "phone-e164-v1"
cases = [
 (E, "jane.doe@example.com", "jane.doe@example.com", "plain address, kept"),
 (E, "  Jane.Doe@Example.COM \t", "jane.doe@example.com", "trim ASCII whitespace, lowercase"),
 (E, "JANE@EXAMPLE.COM", "jane@example.com", "lowercase"),
 (E, "Jane.Doe+news@GMAIL.com", "janedoe@gmail.com", "gmail: dots and +suffix removed"),
 (E, "j.a.n.e.doe@googlemail.com", "janedoe@gmail.com", "googlemail.com folds into gmail.com"),
 (E, "first..last@gmail.com", "firstlast@gmail.com", "gmail: doubled dots removed too"),
 (E, "jane.doe+news@example.com", "jane.doe+news@example.com", "+suffix kept outside gmail"),
 (E, "o'brien@example.co.uk", "o'brien@example.co.uk", "atext apostrophe"),
 (E, "USER_1-x@sub.example-mail.org", "user_1-x@sub.example-mail.org", "underscore, hyphen, subdomain"),
 (E, "", None, "empty"),
 (E, "   ", None, "empty"),
 (E, "jane.example.com", None, "missing_at"),
 (E, "jane@doe@example.com", None, "multiple_at"),
 (E, "@example.com", None, "local_part_empty"),
 (E, "+promo@gmail.com", None, "local_part_empty"),
 (E, "a" * 65 + "@example.com", None, "local_part_too_long"),
 (E, "\"jane\"@example.com", None, "local_part_invalid"),
 (E, ".jane@example.com", None, "local_part_invalid"),
 (E, "jane.@example.com", None, "local_part_invalid"),
 (E, "jane..doe@example.com", None, "local_part_invalid"),
 (E, "jane doe@example.com", None, "invalid_character"),
 (E, "jan\u00e9@example.com", None, "non_ascii"),
 (E, "jane@localhost", None, "domain_invalid"),
 (E, "jane@-example.com", None, "domain_invalid"),
 (E, "jane@example.com.", None, "domain_invalid"),
 (E, "jane@192.168.0.1", None, "domain_invalid"),
 (E, "jane@[192.168.0.1]", None, "domain_invalid"),
 (E, "jane@" + "a" * 64 + ".com", None, "domain_invalid"),
 (E, "j@" + ".".join(["a" * 60] * 5) + ".com", None, "too_long"),
 (P, "+44 20 7946 0958", "+442079460958", "spaces removed"),
 (P, "+44 (0)20 7946 0958", "+442079460958", "(0) trunk prefix removed"),
 (P, "0044 20 7946 0958", "+442079460958", "00 becomes +"),
 (P, "+1 (415) 555-2671", "+14155552671", "parentheses and hyphen removed"),
 (P, "+1.415.555.2671", "+14155552671", "dots removed"),
 (P, "+49 30/1234567", "+49301234567", "slash removed"),
 (P, " +33 1 23 45 67 89 \n", "+33123456789", "trimmed"),
 (P, "+683 4002", "+6834002", "seven digits is the shortest accepted"),
 (P, "+1 234 567 890 12345", "+123456789012345", "fifteen digits is the longest accepted"),
 (P, "", None, "empty"),
 (P, "020 7946 0958", None, "no_country_code"),
 (P, "4155552671", None, "no_country_code"),
 (P, "+1 415 555 2671 ext 12", None, "invalid_character"),
 (P, "+1 415 555 2671 x12", None, "invalid_character"),
 (P, "+44 20 7946 0958 +", None, "invalid_character"),
 (P, "+\u0664\u0664 20 7946 0958", None, "invalid_character"),
 (P, "+0 123 4567", None, "invalid_country_code"),
 (P, "+12 345", None, "too_short"),
 (P, "+1234567890123456", None, "too_long"),
]
vectors = []
for profile, raw, normalized, note in cases:
    v = {"profile": profile, "input": raw}
    if normalized is None:
        v["error"] = note
    else:
        out = subprocess.run(["openssl", "dgst", "-sha256", "-mac", "HMAC", "-macopt", "hexkey:" + SALT],
                             input=normalized.encode(), capture_output=True, check=True).stdout.decode()
        v["normalized"] = normalized
        v["token"] = out.strip().split()[-1]
        v["note"] = note
    vectors.append(v)
doc = {
 "about": "Test vectors of the normalization profiles (docs/partners.md, 'Normalization profiles'). Each vector is an input, the profile, and either the normalized form with its token under the test salt, or the code of the error that refuses it. Tokens are hex(HMAC-SHA256(salt, UTF-8 normalized form)), computed with the openssl tool. The Swift code and scripts/clearinghouse-upload are both tested against this file.",
 "salt_hex": SALT,
 "kid": "test-vectors",
 "vectors": vectors,
}
with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "token-vectors.json"), "w") as f:
    json.dump(doc, f, indent=1, ensure_ascii=True)
    f.write("\n")
print(len(vectors))
