// flow.cpp — OpenCV DIS / Farneback behind the C API in dv_flow.h. No exception escapes.
#include "dv_flow.h"

#include <opencv2/core.hpp>
#include <opencv2/core/ocl.hpp>
#include <opencv2/imgproc.hpp>
#include <opencv2/video/tracking.hpp>

#include <exception>
#include <new>
#include <stdexcept>
#include <string>

struct dv_flow {
    cv::Ptr<cv::DenseOpticalFlow> algo;
    int method = DV_FLOW_DIS;
    int downscale = 1;
    std::string error;
    cv::Mat small0, small1, smallFlow;   // reused between calls (downscaled path)
    cv::Mat tmpFlow;                     // DIS output when flow_out must not be read
};

static thread_local std::string g_create_error;

namespace {
template <class F>
int guarded(std::string &err, F &&body) {
    try {
        body();
        err.clear();
        return DV_FLOW_OK;
    } catch (const cv::Exception &e) {
        err = e.what();
        return DV_FLOW_E_OPENCV;
    } catch (const std::bad_alloc &e) {
        err = "out of memory";
        return DV_FLOW_E_NOMEM;
    } catch (const std::exception &e) {
        err = e.what();
        return DV_FLOW_E_CXX;
    } catch (...) {
        err = "unknown C++ exception";
        return DV_FLOW_E_UNKNOWN;
    }
}
}  // namespace

extern "C" dv_flow *dv_flow_create(int method, int preset) {
    dv_flow *ctx = nullptr;
    int rc = guarded(g_create_error, [&] {
        // This build of OpenCV has OpenCL enabled; we only pass cv::Mat, but keep it off explicitly so no
        // OpenCL runtime is probed or used.
        cv::ocl::setUseOpenCL(false);
        cv::Ptr<cv::DenseOpticalFlow> algo;
        switch (method) {
        case DV_FLOW_DIS:
            if (preset < cv::DISOpticalFlow::PRESET_ULTRAFAST || preset > cv::DISOpticalFlow::PRESET_MEDIUM)
                throw std::invalid_argument("DIS preset must be 0 (ultrafast), 1 (fast) or 2 (medium)");
            algo = cv::DISOpticalFlow::create(preset);
            break;
        case DV_FLOW_FARNEBACK:
            // Parameters of the OpenCV tutorial / calcOpticalFlowFarneback(..., 0.5, 3, 15, 3, 5, 1.2, 0).
            algo = cv::FarnebackOpticalFlow::create(/*numLevels*/ 3, /*pyrScale*/ 0.5, /*fastPyramids*/ false,
                                                    /*winSize*/ 15, /*numIters*/ 3, /*polyN*/ 5,
                                                    /*polySigma*/ 1.2, /*flags*/ 0);
            break;
        default:
            throw std::invalid_argument("method must be 0 (DIS) or 1 (Farneback)");
        }
        ctx = new dv_flow();
        ctx->algo = algo;
        ctx->method = method;
    });
    return rc == DV_FLOW_OK ? ctx : nullptr;
}

extern "C" void dv_flow_destroy(dv_flow *ctx) {
    try { delete ctx; } catch (...) {}
}

extern "C" int dv_flow_set_downscale(dv_flow *ctx, int downscale) {
    if (!ctx) return DV_FLOW_E_ARG;
    if (downscale < 1 || downscale > 8) { ctx->error = "downscale must be 1...8"; return DV_FLOW_E_ARG; }
    ctx->downscale = downscale;
    return DV_FLOW_OK;
}

extern "C" int dv_flow_compute(dv_flow *ctx, const uint8_t *prev_gray, const uint8_t *next_gray,
                               int width, int height, int stride, float *flow_out) {
    if (!ctx) return DV_FLOW_E_ARG;
    if (stride == 0) stride = width;
    if (!prev_gray || !next_gray || !flow_out || width <= 0 || height <= 0 || stride < width) {
        ctx->error = "invalid argument (null buffer, non-positive size or stride < width)";
        return DV_FLOW_E_ARG;
    }
    return guarded(ctx->error, [&] {
        const cv::Mat i0(height, width, CV_8UC1, const_cast<uint8_t *>(prev_gray), (size_t)stride);
        const cv::Mat i1(height, width, CV_8UC1, const_cast<uint8_t *>(next_gray), (size_t)stride);
        cv::Mat out(height, width, CV_32FC2, flow_out);   // caller's buffer, written in place
        const int f = ctx->downscale;
        if (ctx->method == DV_FLOW_FARNEBACK) ctx->algo.dynamicCast<cv::FarnebackOpticalFlow>()->setFlags(0);
        if (f == 1) {
            if (ctx->method == DV_FLOW_FARNEBACK) {
                ctx->algo->calc(i0, i1, out);   // computed straight into the caller's buffer
            } else {
                // DISOpticalFlow::calc treats an output array that already has the right size and type as an
                // initial flow (whatever garbage it holds, NaNs included -> crash). Give it an empty Mat.
                ctx->tmpFlow.release();
                ctx->algo->calc(i0, i1, ctx->tmpFlow);
                ctx->tmpFlow.copyTo(out);
            }
        } else {
            const cv::Size small((width + f - 1) / f, (height + f - 1) / f);
            cv::resize(i0, ctx->small0, small, 0, 0, cv::INTER_AREA);
            cv::resize(i1, ctx->small1, small, 0, 0, cv::INTER_AREA);
            ctx->smallFlow.release();   // DIS reads a sized output as an initial flow (see above); Farneback ignores it with flags 0
            ctx->algo->calc(ctx->small0, ctx->small1, ctx->smallFlow);
            cv::resize(ctx->smallFlow, out, out.size(), 0, 0, cv::INTER_LINEAR);
            out *= (double)f;   // in place: vectors were measured in small pixels
        }
        // An OutputArray may reallocate if size/type did not match; make sure the caller's buffer got the result.
        if (out.data != reinterpret_cast<uchar *>(flow_out))
            throw std::runtime_error("OpenCV reallocated the flow buffer");
    });
}

extern "C" const char *dv_flow_last_error(const dv_flow *ctx) {
    return ctx ? ctx->error.c_str() : g_create_error.c_str();
}
