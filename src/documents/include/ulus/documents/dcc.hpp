#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "ulus/core/clock.hpp"
#include "ulus/core/result.hpp"
#include "ulus/crypto/keys.hpp"

namespace ulus::documents {

// The EU Digital COVID Certificate's transport form (eHealth Network, "Electronic Health
// Certificate Container Format" v1.0.x and the DCC schema 1.3): "HC1:" + Base45(zlib(COSE_Sign1)),
// the COSE_Sign1 (CBOR tag 18) signed ES256 over a CWT whose claim -260/1 is the hcert.

// The DCC key identifier: the first 8 bytes of SHA-256 over the key's DER SubjectPublicKeyInfo.
// (DCC verifiers take it from the signer's certificate; Ulus keys have none, so the trust list
// gives verifiers the key together with this kid.)
std::vector<uint8_t> DccKeyId(const crypto::PublicKey& key);

// A health certificate's CWT claims.
struct DccClaims {
  std::string issuer_country;  // CWT claim 1 (iss): ISO 3166-1 alpha-2, e.g. "MN"
  TimePoint issued_at;         // claim 6 (iat)
  TimePoint expires_at;        // claim 4 (exp)
  nlohmann::json hcert;        // claim -260 / 1: the DCC JSON (ver, nam, dob, v|t|r)
};

// Signs `claims` with `signer` (ES256 only: the DCC's algorithm; others are kInvalidArgument)
// and returns the "HC1:..." text a QR code carries. Times are written in whole seconds (rounded
// down); the hcert must be a JSON object without nulls or binary values (kInvalidArgument), and
// the signed message must fit in 64 KiB (kTooLarge). The kid in the protected header is DccKeyId.
Result<std::string> EncodeHc1(const DccClaims& claims, const crypto::Signer& signer);

// An HC1 text taken apart, before its signature is checked.
struct ParsedHc1 {
  std::vector<uint8_t> kid;  // from the protected header (or the unprotected one)
  int alg = 0;               // COSE algorithm (-7 is ES256)
  DccClaims claims;
  std::vector<uint8_t> signed_bytes;  // the Sig_structure ("Signature1", protected, h'', payload)
  std::vector<uint8_t> signature;     // raw r||s
};

// Decodes prefix, Base45, zlib, CBOR and the CWT. Every malformed input is kInvalidArgument with
// a message saying which layer failed; nothing is trusted yet. Accepted, as DCC verifiers do: the
// COSE_Sign1 uncompressed (no zlib layer) and untagged (no tag 18), and the kid in the
// unprotected header. Refused: anything inflating to more than 64 KiB, an algorithm other than
// ES256 or one outside the protected header, a "crit" header, a key twice in one map, CBOR nested
// deeper than an hcert needs, and bytes left over after any layer. The hcert becomes JSON only
// from text, integers, floats, booleans, arrays and text-keyed maps; anything else is refused.
Result<ParsedHc1> ParseHc1(std::string_view text);

// Checks the signature of a parsed HC1 with `key` (kUnauthenticated when it does not match). It
// does not compare `parsed.kid` with the key: choosing the key by kid is the trust list's job.
Status VerifyHc1(const ParsedHc1& parsed, const crypto::PublicKey& key);

}  // namespace ulus::documents
