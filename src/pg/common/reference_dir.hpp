// Where the core reads its reference lists in a backend: the data installed with the extension.
#pragma once

namespace crm::pg {

// Points crm::match::reference() at <sharedir>/extension/crm_hygiene (as installed by
// "make install"), once per backend. Call it inside barrier before anything that reads the
// lists; it calls nothing that can ereport.
void use_installed_reference_data();

}  // namespace crm::pg
