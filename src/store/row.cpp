#include <string>

#include "ulus/core/assert.hpp"
#include "ulus/store/database.hpp"

namespace ulus::store {

const Value& Row::At(size_t i) const {
  ULUS_ASSERT(i < values_.size());
  return values_[i];
}

bool Row::IsNull(size_t i) const {
  return std::holds_alternative<std::monostate>(At(i));
}

int64_t Row::Int(size_t i) const {
  const auto* v = std::get_if<int64_t>(&At(i));
  ULUS_ASSERT(v != nullptr);
  return *v;
}

double Row::Real(size_t i) const {
  // An integer widens: SQLite hands back 2.0 stored in an untyped expression as the integer 2.
  if (const auto* n = std::get_if<int64_t>(&At(i))) return static_cast<double>(*n);
  const auto* v = std::get_if<double>(&At(i));
  ULUS_ASSERT(v != nullptr);
  return *v;
}

const std::string& Row::Text(size_t i) const {
  const auto* v = std::get_if<std::string>(&At(i));
  ULUS_ASSERT(v != nullptr);
  return *v;
}

const Blob& Row::Bytes(size_t i) const {
  const auto* v = std::get_if<Blob>(&At(i));
  ULUS_ASSERT(v != nullptr);
  return *v;
}

std::optional<int64_t> Row::OptionalInt(size_t i) const {
  if (IsNull(i)) return std::nullopt;
  return Int(i);
}

std::optional<std::string> Row::OptionalText(size_t i) const {
  if (IsNull(i)) return std::nullopt;
  return Text(i);
}

Result<Row> Connection::QueryOne(std::string_view sql, std::span<const Value> params) {
  ULUS_ASSIGN_OR_RETURN(auto rows, Query(sql, params));
  if (rows.empty()) return Error::NotFound("the query returned no rows");
  return std::move(rows.front());
}

Result<int64_t> Connection::QueryInt(std::string_view sql, std::span<const Value> params) {
  ULUS_ASSIGN_OR_RETURN(auto row, QueryOne(sql, params));
  ULUS_ASSERT(row.size() > 0);
  if (row.IsNull(0)) return Error::NotFound("the query returned NULL");
  return row.Int(0);
}

}  // namespace ulus::store
