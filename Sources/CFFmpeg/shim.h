#ifndef DREAMVIDEO_CFFMPEG_SHIM_H
#define DREAMVIDEO_CFFMPEG_SHIM_H
#include <libavformat/avformat.h>
#include <libavcodec/avcodec.h>
#include <libswscale/swscale.h>
#include <libswresample/swresample.h>
#include <libavutil/audio_fifo.h>
#include <libavutil/channel_layout.h>
#include <libavutil/avutil.h>
#include <libavutil/imgutils.h>
#include <libavutil/display.h>
#include <libavutil/error.h>
#include <libavutil/log.h>
#include <libavutil/opt.h>
#include <libavutil/mathematics.h>
#include <libavutil/sha.h>

/* Macros Swift cannot import, as functions. */
static inline int dv_averror(int e) { return AVERROR(e); }
static inline int dv_averror_eof(void) { return AVERROR_EOF; }
static inline int dv_averror_eagain(void) { return AVERROR(EAGAIN); }
static inline int64_t dv_nopts_value(void) { return AV_NOPTS_VALUE; }
static inline const char *dv_err2str(int code, char *buf, size_t size) {
    return av_make_error_string(buf, size, code);
}
static inline AVRational dv_rational(int num, int den) { AVRational r = {num, den}; return r; }
static inline int dv_av_time_base(void) { return AV_TIME_BASE; }
static inline int dv_averror_decoder_not_found(void) { return AVERROR_DECODER_NOT_FOUND; }
#endif
