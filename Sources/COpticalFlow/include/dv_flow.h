// dv_flow.h — plain-C interface to OpenCV dense optical flow (DIS, Farneback).
// No C++ or OpenCV types cross this boundary, so Swift imports it without C++ interop.
#ifndef DV_FLOW_H
#define DV_FLOW_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct dv_flow dv_flow;          // opaque; Swift sees OpaquePointer

enum { DV_FLOW_DIS = 0, DV_FLOW_FARNEBACK = 1 };
enum { DV_FLOW_DIS_ULTRAFAST = 0, DV_FLOW_DIS_FAST = 1, DV_FLOW_DIS_MEDIUM = 2 };

enum {
    DV_FLOW_OK = 0,
    DV_FLOW_E_ARG = -1,        // null pointer, non-positive size, bad stride/downscale
    DV_FLOW_E_OPENCV = -2,     // cv::Exception (message in dv_flow_last_error)
    DV_FLOW_E_NOMEM = -3,      // std::bad_alloc
    DV_FLOW_E_CXX = -4,        // other std::exception
    DV_FLOW_E_UNKNOWN = -5,    // anything else
};

// method: DV_FLOW_DIS or DV_FLOW_FARNEBACK; preset: DIS preset (ignored for Farneback).
// Returns NULL on failure; then dv_flow_last_error(NULL) says why (per calling thread).
dv_flow *dv_flow_create(int method, int preset);
void dv_flow_destroy(dv_flow *ctx);      // NULL is fine

// Compute flow at 1/downscale resolution (area-downsampled), then bilinearly upsample the field
// and multiply the vectors by downscale. 1 (default) = full resolution. Returns DV_FLOW_OK or DV_FLOW_E_ARG.
int dv_flow_set_downscale(dv_flow *ctx, int downscale);

// prev_gray, next_gray: 8-bit single channel, height rows of `stride` bytes (0 = tightly packed, stride = width).
// flow_out: width*height*2 floats, interleaved (dx, dy) per pixel, row-major, tightly packed.
// Convention (OpenCV): prev(x, y) ~= next(x + dx, y + dy).
// Returns DV_FLOW_OK or a negative DV_FLOW_E_* code; never throws.
// A context is not thread-safe: use one context per thread (distinct contexts may run concurrently).
int dv_flow_compute(dv_flow *ctx, const uint8_t *prev_gray, const uint8_t *next_gray,
                    int width, int height, int stride, float *flow_out);

// Message of the last failure on ctx (or of the last dv_flow_create on this thread if ctx is NULL).
// Empty string if none. Valid until the next call on ctx.
const char *dv_flow_last_error(const dv_flow *ctx);

#ifdef __cplusplus
}
#endif
#endif
