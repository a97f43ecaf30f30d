#include "core/ai/text_classifier.hpp"

#include <fasttext/fasttext.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "core/error.hpp"

namespace crm::ai {

namespace {

// A temporary file removed however training ends.
struct TempFile {
  std::string path;
  explicit TempFile(const std::string &dir, const char *stem) {
    std::string pattern = dir + "/crm_ai_" + stem + "_XXXXXX";
    std::vector<char> buffer(pattern.begin(), pattern.end());
    buffer.push_back('\0');
    const int fd = mkstemp(buffer.data());
    if (fd < 0)
      throw Error("58030", "could not create a temporary file in " + dir, std::strerror(errno));
    close(fd);
    path = buffer.data();
  }
  ~TempFile() { std::remove(path.c_str()); }
};

// One example per line: "__label__<n> words...". Newlines in a text would start a new example.
std::string example_line(int label, const std::string &text) {
  std::string line = "__label__" + std::to_string(label) + " ";
  for (char c : text) line += (c == '\n' || c == '\r') ? ' ' : c;
  return line + "\n";
}

constexpr int32_t kFastTextMagic = 793712314;

}  // namespace

std::string train_text_classifier(const std::vector<std::string> &texts,
                                  const std::vector<int> &labels, const std::string &temp_dir,
                                  const TrainingOptions &options) {
  if (texts.size() != labels.size() || texts.empty())
    throw Error("22023", "a classifier needs as many labels as texts, and at least one");
  TempFile input(temp_dir, "train");
  TempFile output(temp_dir, "model");
  {
    std::ofstream out(input.path, std::ios::binary);
    for (size_t i = 0; i < texts.size(); ++i) out << example_line(labels[i], texts[i]);
    if (!out) throw Error("58030", "could not write the classifier's training file");
  }
  fasttext::Args args;
  args.input = input.path;
  args.model = fasttext::model_name::sup;
  args.loss = fasttext::loss_name::softmax;
  args.epoch = options.epochs;
  args.dim = options.dimension;
  args.lr = 0.5;
  args.wordNgrams = 2;
  args.minCount = 1;
  args.minn = 2;
  args.maxn = 4;
  args.bucket = options.buckets;
  args.thread = 1;
  args.verbose = 0;
  args.seed = options.seed;
  fasttext::FastText model;
  const std::thread::id caller = std::this_thread::get_id();
  bool restored = false;
  auto restore = [&] {
    if (!restored && options.threads_started != nullptr) options.threads_started();
    restored = true;
  };
  try {
    model.train(args, [&](float, float, double, double, int64_t) {
      // fastText trains in its own thread when asked for more than one, else in ours.
      if (std::this_thread::get_id() == caller) restore();
      if (options.cancelled != nullptr && options.cancelled()) model.abort();
    });
  } catch (const fasttext::FastText::AbortError &) {
    restore();
    throw Canceled();
  } catch (const std::invalid_argument &e) {
    restore();
    throw Error("22023", std::string("the classifier could not be trained: ") + e.what());
  }
  restore();
  model.saveModel(output.path);
  std::ifstream in(output.path, std::ios::binary);
  std::stringstream bytes;
  bytes << in.rdbuf();
  return bytes.str();
}

TextClassifier::TextClassifier(const std::string &model_bytes)
    : model_(std::make_unique<fasttext::FastText>()) {
  int32_t magic = 0;
  if (model_bytes.size() < 8) throw Error("22000", "not a fastText model");
  std::memcpy(&magic, model_bytes.data(), sizeof magic);
  if (magic != kFastTextMagic) throw Error("22000", "not a fastText model");
  std::istringstream in(model_bytes.substr(8));
  try {
    model_->loadModel(in);
  } catch (const std::exception &e) {
    throw Error("22000", std::string("could not load the fastText model: ") + e.what());
  }
  // fastText reads a cut model without complaint; the stream knows it ran out.
  if (in.fail() || in.peek() != std::char_traits<char>::eof())
    throw Error("22000", "the fastText model is cut short or has trailing bytes");
}

TextClassifier::~TextClassifier() = default;

Prediction TextClassifier::predict(const std::string &text) const {
  std::istringstream in(text + "\n");
  std::vector<std::pair<fasttext::real, std::string>> predictions;
  model_->predictLine(in, predictions, 1, 0.0);
  Prediction out;
  if (predictions.empty()) return out;
  const std::string &name = predictions[0].second;
  const std::string prefix = "__label__";
  if (name.compare(0, prefix.size(), prefix) == 0)
    out.label = std::stoi(name.substr(prefix.size()));
  out.confidence = predictions[0].first;
  return out;
}

}  // namespace crm::ai
