/* Fake model for protocol tests: output[i] = input[i].  With
 * -DFAKE_MODEL_TRACE each invocation also prints a "#invoke" line. */
#include "model.h"

#include <string.h>
#ifdef FAKE_MODEL_TRACE
#include <stdio.h>
#endif

static int8_t arena[MODEL_ARENA_BYTES];

int8_t *model_input(void)
{
    return arena;
}

int8_t *model_output(void)
{
    return arena + MODEL_INPUT_BYTES;
}

void model_prepare(void)
{
}

void model_invoke(void)
{
    memcpy(model_output(), model_input(), MODEL_OUTPUT_BYTES);
#ifdef FAKE_MODEL_TRACE
    fputs("#invoke\r\n", stdout);
#endif
}
