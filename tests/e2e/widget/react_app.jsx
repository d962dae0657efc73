// The React build of the widget: bundled by esbuild at test time (tests/e2e/test_widget.py).
// Settings come from window.WIDGET_SETTINGS, written into the page by the test's site server.
import React from "react";
import { createRoot } from "react-dom/client";
import { InkeepEmbeddedChat } from "@inkeep/cxkit-react";

createRoot(document.getElementById("chat")).render(
  React.createElement(InkeepEmbeddedChat, window.WIDGET_SETTINGS),
);
