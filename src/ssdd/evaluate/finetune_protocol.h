// The fine-tuning protocols a grid can name (core/choice.h); finetune.h gives their options.
#pragma once
#include "ssdd/core/choice.h"

namespace ssdd::evaluate {

enum class FinetuneProtocol { ssdd, krrst };  // "ssdd", "krrst"
const ChoiceNames<FinetuneProtocol>& choice_names(FinetuneProtocol);
SSDD_CHOICE_JSON(FinetuneProtocol)

}  // namespace ssdd::evaluate
