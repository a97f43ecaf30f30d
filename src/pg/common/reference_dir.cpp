#include "pg/common/reference_dir.hpp"

#include <string>

#include "core/match/reference.hpp"
#include "pg/common/pg.hpp"

namespace crm::pg {

void use_installed_reference_data() {
  static bool done = false;
  if (done) return;
  // The share directory is found from the running binary (my_exec_path), as Postgres finds its
  // own extension scripts, so a relocated installation still finds the lists. get_share_path
  // only edits strings.
  char share[MAXPGPATH];
  get_share_path(my_exec_path, share);
  crm::match::set_reference_dir(std::string(share) + "/extension/crm_hygiene");
  done = true;
}

}  // namespace crm::pg
