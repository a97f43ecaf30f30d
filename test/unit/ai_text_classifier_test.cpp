// The embedded classifier: trained on labelled texts, it predicts their labels back and new texts
// by their words; bytes that are not a model are refused, never loaded.
#include <gtest/gtest.h>

#include <filesystem>

#include "core/ai/text_classifier.hpp"
#include "core/error.hpp"

namespace {

std::string trained_model() {
  std::vector<std::string> texts;
  std::vector<int> labels;
  for (int i = 0; i < 20; ++i) {
    texts.push_back("software platform cloud api developer tools release " + std::to_string(i));
    labels.push_back(0);
    texts.push_back("grocery store retail shop fashion outlet mall " + std::to_string(i));
    labels.push_back(1);
  }
  crm::ai::TrainingOptions options;
  options.epochs = 25;
  options.buckets = 10000;
  return crm::ai::train_text_classifier(texts, labels,
                                        std::filesystem::temp_directory_path().string(), options);
}

}  // namespace

TEST(AiTextClassifier, LearnsTheLabelsOfItsExamples) {
  const crm::ai::TextClassifier model(trained_model());
  const auto software = model.predict("a cloud api for developer tools");
  EXPECT_EQ(software.label, 0);
  EXPECT_GT(software.confidence, 0.5);
  EXPECT_LE(software.confidence, 1.0);
  EXPECT_EQ(model.predict("the fashion outlet at the mall").label, 1);
}

TEST(AiTextClassifier, TrainingIsDeterministic) {
  EXPECT_EQ(trained_model(), trained_model());
}

TEST(AiTextClassifier, RefusesBytesThatAreNotAModel) {
  EXPECT_THROW(crm::ai::TextClassifier(""), crm::Error);
  EXPECT_THROW(crm::ai::TextClassifier("not a fasttext model at all"), crm::Error);
  std::string cut = trained_model();
  cut.resize(cut.size() / 3);
  EXPECT_THROW(crm::ai::TextClassifier{cut}, crm::Error);
}

TEST(AiTextClassifier, RefusesMismatchedExamples) {
  EXPECT_THROW(crm::ai::train_text_classifier({"a"}, {0, 1}, "/tmp", {}), crm::Error);
  EXPECT_THROW(crm::ai::train_text_classifier({}, {}, "/tmp", {}), crm::Error);
}
