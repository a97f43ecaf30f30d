// Restore mode: a pg_dump script or pg_restore is loading the extension's tables, derived ones
// included, so the triggers must store rows as given (re-deriving would double-count, and a
// duplicate rule could refuse a record that was allowed when it was written). docs/BACKUP.md.
#pragma once

namespace crm::pg {

// True in a session set up as pg_dump's scripts and pg_restore set up every session (both
// check_function_bodies and row_security off; an extension script turns off the first only,
// and applications have no reason to turn off either), when the role outside any SECURITY
// DEFINER function is a superuser, as a restore of this untrusted extension must be. Other roles
// can never switch derivation off.
bool restoring();

}  // namespace crm::pg
