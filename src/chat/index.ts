// Chat formatting: Ovis1.6 conversation formatters (what Ovis uses) and HF chat templates.
export {
  createFormatter,
  tokenizeWithImageSymbol,
  FORMATTER_CLASSES,
  type ConversationFormatter,
  type Turn,
  type Formatted,
  type FormatOptions,
  type FormatterClass,
} from './formatters.js';
export { renderChatTemplate, type ChatMessage, type ChatTemplateOptions } from './template.js';
