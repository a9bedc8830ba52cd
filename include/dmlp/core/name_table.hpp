#pragma once
// One way to name the values of an enum: every enum that a user types on the
// command line or that a file stores has one table, and parsing, printing and
// listing the choices all read it.
#include <array>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "dmlp/core/errors.hpp"
#include "dmlp/core/settings.hpp"

namespace dmlp {

template <class E>
struct Named {
  E value;
  std::string_view name;
};

template <class E, std::size_t N>
class NameTable {
 public:
  // `what` names the kind of value in messages: "activation", or a setting
  // ("schedule"), which messages name as core/settings.hpp says.
  constexpr NameTable(std::string_view what, std::array<Named<E>, N> entries) : what_(what), entries_(entries) {}

  std::optional<E> find(std::string_view name) const {
    for (const auto& e : entries_)
      if (e.name == name) return e.value;
    return std::nullopt;
  }
  // Throws InputError("unknown <what> '<name>' (expected a|b|c)").
  E parse(std::string_view name) const {
    if (const std::optional<E> found = find(name)) return *found;
    throw InputError("unknown " + setting(what_) + " '" + std::string(name) + "' (expected " + choices() + ")");
  }
  std::string_view name(E value) const {
    for (const auto& e : entries_)
      if (e.value == value) return e.name;
    return "?";
  }
  std::string choices() const {  // "a|b|c"
    std::string all;
    for (const auto& e : entries_) all += (all.empty() ? "" : "|") + std::string(e.name);
    return all;
  }

 private:
  std::string_view what_;
  std::array<Named<E>, N> entries_;
};

}  // namespace dmlp
