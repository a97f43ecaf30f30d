// Owning handles for libical objects, so that every early return and every std::bad_alloc frees
// what libical allocated (valgrind runs the unit tests).
#pragma once

#include <memory>

#include <libical/ical.h>

namespace crm::capture::ical {

struct ComponentFree {
  void operator()(icalcomponent *c) const { icalcomponent_free(c); }
};
struct ParserFree {
  void operator()(icalparser *p) const { icalparser_free(p); }
};
struct IteratorFree {
  void operator()(icalrecur_iterator *i) const { icalrecur_iterator_free(i); }
};

using Component = std::unique_ptr<icalcomponent, ComponentFree>;
using Parser = std::unique_ptr<icalparser, ParserFree>;
using Iterator = std::unique_ptr<icalrecur_iterator, IteratorFree>;

// libical aborts on its own errors unless told otherwise; idempotent and cheap.
void make_errors_nonfatal();

}  // namespace crm::capture::ical
