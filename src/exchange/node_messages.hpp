#pragma once

// What a node signs and how it reads headers: shared by the client and provider sides, which
// must compute byte-identical digests from what they each see.

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "ulus/crypto/digest.hpp"
#include "ulus/exchange/protocol.hpp"

namespace ulus::exchange::node {

// SHA-256 of "khur.request.v1\n" and the PR-REST request hash, which covers the request line,
// the forwarded headers and the body.
crypto::Sha256Digest RequestDigest(std::string_view request_hash);

// SHA-256 of "khur.response.v1\n", the status, the request hash the provider computed (binding
// the answer to its request), each signed header as "name: value\r\n" (names lower-case, in the
// order signed) and the body.
crypto::Sha256Digest ResponseDigest(int status, std::string_view request_hash,
                                    const HeaderList& signed_headers, std::string_view body);

// The response headers a provider's node passes on from the backend: not hop-by-hop, not framing
// (the HTTP server sets those), not X-Road-* or Khur-* (nodes set them), not Date, Server or
// X-Request-Id (per hop).
bool IsPassedResponseHeader(std::string_view name);

// The headers of `headers` named in `names` (a comma-separated list of lower-case names), each
// once, with repeated values joined by ", " (RFC 9110 §5.3), in the order of `names`.
HeaderList CollectSigned(const HeaderList& headers, std::string_view names);

// Lower-case, comma-separated, each name once in first-seen order.
std::string SignedNames(const HeaderList& headers);

}  // namespace ulus::exchange::node
