// The AI settings (docs/AI.md): defined by _PG_init, read by the chat function and the workers.
#pragma once

namespace crm::pg {

void define_ai_settings();

struct AiSettings {
  const char *base_url;  // "" when no endpoint is configured
  const char *model;
  const char *api_key_file;  // its first line is the key: never logged, returned or in an error
  int timeout_ms;
  int concurrency;
  int max_attempts;
  int retry_delay_s;
  int poll_interval_ms;
  int max_workers;
};

AiSettings ai_settings();

}  // namespace crm::pg
