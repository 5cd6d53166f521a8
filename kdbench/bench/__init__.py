"""The benchmark harness: every model run as eager torch, ONNX Runtime and int8 dynamic quantisation."""
