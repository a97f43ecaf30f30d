// The built-in enrichers' pure parts: names from display names, countries, time zones and the
// country of a phone number.
#include <gtest/gtest.h>

#include <optional>
#include <string>

#include "core/enrich/country.hpp"
#include "core/enrich/display_name.hpp"

namespace {

using namespace crm::enrich;

std::string split(const char *display_name) {
  const std::optional<PersonName> n = split_display_name(display_name);
  return n ? n->first + " | " + n->last : "none";
}

TEST(DisplayName, FirstThenLast) {
  EXPECT_EQ(split("Jane Doe"), "Jane | Doe");
  EXPECT_EQ(split("  Jane   Ann  Doe "), "Jane Ann | Doe");
  EXPECT_EQ(split("Jane"), "Jane | ");
}

TEST(DisplayName, SurnameFirstWithAComma) {
  EXPECT_EQ(split("Doe, Jane"), "Jane | Doe");
  EXPECT_EQ(split("\"Doe, Jane A.\""), "Jane A. | Doe");
  EXPECT_EQ(split("van der Berg, Anna"), "Anna | van der Berg");
}

TEST(DisplayName, HonorificsAndSuffixesDropped) {
  EXPECT_EQ(split("Dr. Jane Doe"), "Jane | Doe");
  EXPECT_EQ(split("Mr John Smith Jr."), "John | Smith");
  EXPECT_EQ(split("Jane Doe, PhD"), "Jane | Doe");
  EXPECT_EQ(split("Doe, Jane, MBA"), "Jane | Doe");
  EXPECT_EQ(split("Prof. Dr. Hans Meier III"), "Hans | Meier");
}

TEST(DisplayName, SurnameParticlesStayWithTheSurname) {
  EXPECT_EQ(split("Ludwig van Beethoven"), "Ludwig | van Beethoven");
  EXPECT_EQ(split("Juan de la Cruz"), "Juan | de la Cruz");
}

TEST(DisplayName, NoiseIsIgnored) {
  EXPECT_EQ(split("Jane Doe (Acme)"), "Jane | Doe");
  EXPECT_EQ(split("Jane Doe <jane@acme.com>"), "Jane | Doe");
  EXPECT_EQ(split("O'Brien, Seán"), "Seán | O'Brien");
  EXPECT_EQ(split("jane@acme.com"), "none");
  EXPECT_EQ(split("  ,  "), "none");
  EXPECT_EQ(split("Dr."), "none");
  EXPECT_EQ(split(""), "none");
}

TEST(Country, CodesNamesAndAliases) {
  EXPECT_EQ(country_code("DE"), "DE");
  EXPECT_EQ(country_code("deu"), "DE");
  EXPECT_EQ(country_code(" germany "), "DE");
  EXPECT_EQ(country_code("United States"), "US");
  EXPECT_EQ(country_code("USA"), "US");
  EXPECT_EQ(country_code("UK"), "GB");
  EXPECT_EQ(country_code("United Kingdom"), "GB");
  EXPECT_EQ(country_code("Côte d’Ivoire"), "CI");
  EXPECT_EQ(country_code("Bavaria"), std::nullopt);
  EXPECT_EQ(country_code(""), std::nullopt);
  EXPECT_EQ(country_name("de"), "Germany");
  EXPECT_EQ(country_name("XX"), std::nullopt);
}

TEST(Country, TimeZoneOnlyWhenTheCountryKeepsOne) {
  EXPECT_EQ(country_time_zone("DE"), "Europe/Berlin");
  EXPECT_EQ(country_time_zone("FR"), "Europe/Paris");
  EXPECT_EQ(country_time_zone("JP"), "Asia/Tokyo");
  EXPECT_EQ(country_time_zone("US"), std::nullopt);
  EXPECT_EQ(country_time_zone("ES"), std::nullopt);  // the Canaries
  EXPECT_EQ(country_time_zone("AU"), std::nullopt);
  EXPECT_EQ(country_time_zone("ZZ"), std::nullopt);
}

TEST(Country, OfAPhoneNumber) {
  EXPECT_EQ(phone_country("+14155552671"), "US");
  EXPECT_EQ(phone_country("+442079460958"), "GB");
  EXPECT_EQ(phone_country("+4930123456"), "DE");
  EXPECT_EQ(phone_country("+80012345678"), std::nullopt);  // international freephone
  EXPECT_EQ(phone_country("12345"), std::nullopt);
}

}  // namespace
