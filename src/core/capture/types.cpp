#include "core/capture/types.hpp"

namespace crm::capture {

const char *role_name(Role role) {
  switch (role) {
    case Role::from:
      return "from";
    case Role::to:
      return "to";
    case Role::cc:
      return "cc";
    case Role::bcc:
      return "bcc";
    case Role::organizer:
      return "organizer";
    case Role::attendee:
      return "attendee";
  }
  return "to";
}

const char *response_name(Response response) {
  switch (response) {
    case Response::none:
      return nullptr;
    case Response::accepted:
      return "accepted";
    case Response::declined:
      return "declined";
    case Response::tentative:
      return "tentative";
    case Response::needs_action:
      return "needs_action";
  }
  return nullptr;
}

const char *status_name(EventStatus status) {
  switch (status) {
    case EventStatus::confirmed:
      return "confirmed";
    case EventStatus::tentative:
      return "tentative";
    case EventStatus::canceled:
      return "canceled";
  }
  return "confirmed";
}

}  // namespace crm::capture
