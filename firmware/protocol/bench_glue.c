/* Input conversion and result printing for the benchmark selected in
 * bench.h.  The per-benchmark facts come from bench.h and model.h; the code
 * below is shared, with one branch per input layout and result format. */
#include "bench.h"

#include <string.h>

#include "model.h"
#include "serial_out.h"

#if !defined(TP_BENCH_raw)
/* The closed benchmarks' input files fill one input tensor (m-results come
 * from output 0, as the reference firmware prints them). */
_Static_assert(MODEL_INPUT_COUNT == 1, "a benchmark's model takes one input");
#endif

#if BENCH_INPUT == BENCH_INPUT_FLOAT32
_Static_assert(BENCH_DB_BYTES == 4u * MODEL_INPUT_BYTES,
               "float input file must hold one float32 per model input");
#else
_Static_assert(BENCH_DB_BYTES == MODEL_ALL_INPUTS_BYTES,
               "input file must hold every byte of the model's inputs");
#endif

#if BENCH_RESULTS != BENCH_RESULTS_COUNT
/* Output value in real units.  The casts keep the arithmetic in float32
 * whatever type the generated header gives the scale. */
static float dequantize_output(int8_t q)
{
    return (float)(q - MODEL_OUTPUT_ZERO_POINT) * (float)MODEL_OUTPUT_SCALE;
}
#endif

#if BENCH_INPUT == BENCH_INPUT_FLOAT32
#define WINDOW_VALUES MODEL_INPUT_BYTES

/* The float window of the last load, kept because the AD score compares
 * the model's reconstruction against it. */
static float window[WINDOW_VALUES];

/* C roundf (halves away from zero) for |t| <= 1000: t minus its truncation
 * is exact in float32 there, so the comparison with 0.5 is exact too. */
static int32_t round_half_away(float t)
{
    int32_t whole = (int32_t)t;
    float frac = t - (float)whole;
    if (frac >= 0.5f)
        whole++;
    else if (frac <= -0.5f)
        whole--;
    return whole;
}

/* round(x / scale) + zero_point, clamped to int8; division in float32 as
 * the reference firmware does.  Clamping t to +-1000 first keeps the integer
 * conversion defined and does not change the clamped result; NaN maps to
 * -128. */
static int8_t quantize_input(float x)
{
    float t = x / (float)MODEL_INPUT_SCALE;
    if (!(t >= -1000.0f))
        t = -1000.0f;
    if (t > 1000.0f)
        t = 1000.0f;
    int32_t q = round_half_away(t) + MODEL_INPUT_ZERO_POINT;
    if (q < -128)
        q = -128;
    if (q > 127)
        q = 127;
    return (int8_t)q;
}

void bench_load_input(const uint8_t *file)
{
    /* memcpy: the file bytes need not be float-aligned.  Every target is
     * little-endian, like the file. */
    memcpy(window, file, sizeof window);
    int8_t *input = model_input();
    for (uint32_t i = 0; i < WINDOW_VALUES; i++)
        input[i] = quantize_input(window[i]);
}

#elif BENCH_INPUT == BENCH_INPUT_UINT8_RGB

void bench_load_input(const uint8_t *file)
{
    int8_t *input = model_input();
    /* u - 128 as int8 is u with its top bit flipped. */
    for (uint32_t i = 0; i < BENCH_DB_BYTES; i++)
        input[i] = (int8_t)(file[i] ^ 0x80u);
}

#else /* BENCH_INPUT_INT8 */

void bench_load_input(const uint8_t *file)
{
#if MODEL_INPUT_COUNT > 1
    /* The file holds every input tensor, one after the other in input order. */
    for (uint32_t i = 0; i < MODEL_INPUT_COUNT; i++) {
        memcpy(model_inputs[i].data, file, model_inputs[i].bytes);
        file += model_inputs[i].bytes;
    }
#else
    memcpy(model_input(), file, BENCH_DB_BYTES);
#endif
}

#endif

#if BENCH_RESULTS == BENCH_RESULTS_MSE

/* The AD anomaly score: mean over the window of
 * ((q_out - zp_out) * scale_out - x)^2.  The operation order is part of the
 * result and a host re-computation must follow it, in float32 throughout:
 *   recon = float(q - zp_out) * scale_out      rounded to float32
 *   diff  = recon - x                          rounded
 *   sq    = diff * diff                        rounded
 *   sum   = sum + sq, from sum = 0, i = 0..639 in index order
 *   score = sum / 640.0f
 * Each product is rounded before it is used: the volatile stores stop the
 * compiler fusing them into a multiply-add (GCC does so on FPU cores under
 * its default -ffp-contract=fast), which would change the last bits. */
static float window_mse(void)
{
    const int8_t *output = model_output();
    float sum = 0.0f;
    for (uint32_t i = 0; i < WINDOW_VALUES; i++) {
        volatile float recon = dequantize_output(output[i]);
        float diff = recon - window[i];
        volatile float square = diff * diff;
        sum += square;
    }
    return sum / (float)WINDOW_VALUES;
}

void bench_print_results(void)
{
    out_str("m-results-[");
    out_fixed3(window_mse());
    out_line("]");
}

#elif BENCH_RESULTS == BENCH_RESULTS_COUNT

void bench_print_results(void)
{
    out_str("m-results-[");
    out_uint((uint32_t)MODEL_OUTPUT_BYTES);
    out_line("]");
}

#else

void bench_print_results(void)
{
    const int8_t *output = model_output();
    out_str("m-results-[");
    for (uint32_t i = 0; i < MODEL_OUTPUT_BYTES; i++) {
        float value = dequantize_output(output[i]);
#if BENCH_RESULTS == BENCH_RESULTS_TRUNC3
        /* The reference KWS firmware avoids float printf by printing
         * "0.", then int(v*10), int(v*100)%10, int(v*1000)%10: the digits
         * are truncated, not rounded. */
        out_str("0.");
        out_int((int32_t)(value * 10.0f));
        out_int((int32_t)(value * 100.0f) % 10);
        out_int((int32_t)(value * 1000.0f) % 10);
#else
        out_fixed3(value);
#endif
#if BENCH_RESULTS == BENCH_RESULTS_FIXED3_COMMA
        out_str(",");           /* VWW: a comma after every value */
#else
        if (i + 1u < MODEL_OUTPUT_BYTES)
            out_str(",");
#endif
    }
    out_line("]");
}

#endif
