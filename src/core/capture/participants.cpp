#include "core/capture/participants.hpp"

#include <string>

#include "core/activity/address.hpp"
#include "core/capture/ical_text.hpp"

namespace crm::capture::ical {

namespace {

Response response_of(icalproperty *prop) {
  icalparameter *param = icalproperty_get_first_parameter(prop, ICAL_PARTSTAT_PARAMETER);
  if (param == nullptr) return Response::none;
  switch (icalparameter_get_partstat(param)) {
    case ICAL_PARTSTAT_ACCEPTED:
      return Response::accepted;
    case ICAL_PARTSTAT_DECLINED:
      return Response::declined;
    case ICAL_PARTSTAT_TENTATIVE:
      return Response::tentative;
    case ICAL_PARTSTAT_NEEDSACTION:
      return Response::needs_action;
    default:
      return Response::none;
  }
}

std::string parameter(icalproperty *prop, const char *name) {
  const char *value = icalproperty_get_parameter_as_string(prop, name);
  return value == nullptr ? std::string() : to_utf8(value);
}

// The address of an ORGANIZER / ATTENDEE: the mailto: value, or RFC 7986's EMAIL parameter
// when the value is some other URI (urn:uuid:..., a directory link).
std::string address_of(icalproperty *prop) {
  const char *value = icalproperty_get_value_as_string(prop);
  std::string address = value == nullptr ? std::string() : mail_address(value);
  if (address.empty()) address = mail_address(parameter(prop, "EMAIL"));
  return address;
}

void add(std::vector<Participant> &out, std::vector<std::string> &dropped, icalproperty *prop,
         Role role) {
  Participant p;
  p.address = address_of(prop);
  if (p.address.empty()) return;
  if (auto why = activity::refusal(p.address)) {
    dropped.push_back("dropped " + std::string(role_name(role)) + " address: " + *why);
    return;
  }
  p.display_name = parameter(prop, "CN");
  p.role = role;
  p.response = role == Role::attendee ? response_of(prop) : Response::none;
  for (Participant &seen : out) {
    if (seen.address != p.address) continue;
    if (seen.response == Response::none) seen.response = response_of(prop);
    if (seen.display_name.empty()) seen.display_name = p.display_name;
    return;
  }
  out.push_back(std::move(p));
}

}  // namespace

std::vector<Participant> read_participants(icalcomponent *event,
                                           std::vector<std::string> &dropped) {
  std::vector<Participant> out;
  if (icalproperty *org = icalcomponent_get_first_property(event, ICAL_ORGANIZER_PROPERTY)) {
    add(out, dropped, org, Role::organizer);
  }
  for (icalproperty *p = icalcomponent_get_first_property(event, ICAL_ATTENDEE_PROPERTY);
       p != nullptr; p = icalcomponent_get_next_property(event, ICAL_ATTENDEE_PROPERTY)) {
    add(out, dropped, p, Role::attendee);
  }
  return out;
}

}  // namespace crm::capture::ical
