// Fuzzes given_name_forms and nickname_equivalent (the nickname lists). Input: two names on two
// lines. Forms are sorted, unique, lower-case ASCII tokens, and hold the name's own normal form;
// equivalence is symmetric and reflexive for anything that is a name.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "core/match/normalize.hpp"
#include "fuzz_support.hpp"

using crm::fuzz::require;

extern "C" int LLVMFuzzerInitialize(int *, char ***) {
  crm::fuzz::load_reference();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size) {
  const auto names = crm::fuzz::split_lines(crm::fuzz::as_text(data, size), 2);
  const std::vector<std::string> forms = crm::match::given_name_forms(names[0]);
  require(std::adjacent_find(forms.begin(), forms.end(), std::greater_equal<>()) == forms.end(),
          "forms are sorted and unique");
  for (const std::string &form : forms)
    crm::fuzz::require_tokens(form, "a given-name form is lower-case ASCII tokens");
  const bool is_name = !forms.empty();
  require(is_name == crm::match::normalize_person_name(names[0]).has_value(),
          "forms exist exactly for names", names[0]);
  if (is_name)
    require(std::binary_search(forms.begin(), forms.end(),
                               *crm::match::normalize_person_name(names[0])),
            "forms hold the name itself", names[0]);
  const bool ab = crm::match::nickname_equivalent(names[0], names[1]);
  require(ab == crm::match::nickname_equivalent(names[1], names[0]),
          "nickname equivalence is symmetric");
  require(crm::match::nickname_equivalent(names[0], names[0]) == is_name,
          "a name is equivalent to itself");
  return 0;
}
