export { createOnnxDecoder, ONNX_DECODER_NAME, type OnnxDecoderOptions } from './onnx-decoder.js';
export { resolveModelPaths, type OnnxModelPaths } from './model-assets.js';
