// Owners for what GLib and GMime hand out, so that an early return or std::bad_alloc frees it.
#pragma once

#include <gmime/gmime.h>

#include <memory>

namespace crm::capture::gmime {

struct GObjectUnref {
  void operator()(gpointer object) const { g_object_unref(object); }
};
struct GFree {
  void operator()(gpointer memory) const { g_free(memory); }
};
struct DateTimeUnref {
  void operator()(GDateTime *date) const { g_date_time_unref(date); }
};
struct OptionsFree {
  void operator()(GMimeParserOptions *options) const { g_mime_parser_options_free(options); }
};
struct ReferencesFree {
  void operator()(GMimeReferences *references) const { g_mime_references_free(references); }
};

template <typename T>
using GObjectPtr = std::unique_ptr<T, GObjectUnref>;
using GCharPtr = std::unique_ptr<char, GFree>;
using DateTimePtr = std::unique_ptr<GDateTime, DateTimeUnref>;
using OptionsPtr = std::unique_ptr<GMimeParserOptions, OptionsFree>;
using ReferencesPtr = std::unique_ptr<GMimeReferences, ReferencesFree>;

}  // namespace crm::capture::gmime
