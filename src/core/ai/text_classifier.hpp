// The embedded classifier of classify attributes: a supervised fastText model (libfasttext) trained
// on the texts of records people labelled. Pure C++; training writes its input to a temporary
// file (fastText reads a file) and the model comes back as bytes, stored in crm.ai_model.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "core/cancel.hpp"

namespace fasttext {
class FastText;
}

namespace crm::ai {

struct TrainingOptions {
  int epochs = 50;
  int dimension = 32;
  int buckets = 200000;
  int seed = 1;
  // Called from the training's own thread of control about every 100 ms: true stops training.
  CancelCheck cancelled = nullptr;
  // Called once, from the calling thread, after fastText started its worker thread (the caller
  // may block signals before training so that thread inherits the mask, and restore them here).
  void (*threads_started)() = nullptr;
};

// labels[i] (0-based) for texts[i]. Throws crm::Error 22023 for mismatched or empty input.
std::string train_text_classifier(const std::vector<std::string> &texts,
                                  const std::vector<int> &labels, const std::string &temp_dir,
                                  const TrainingOptions &options);

struct Prediction {
  int label = -1;  // 0-based, as trained
  double confidence = 0;
};

class TextClassifier {
 public:
  // Throws crm::Error 22000 for bytes that are not a supervised fastText model.
  explicit TextClassifier(const std::string &model_bytes);
  ~TextClassifier();
  Prediction predict(const std::string &text) const;

 private:
  std::unique_ptr<fasttext::FastText> model_;
};

}  // namespace crm::ai
