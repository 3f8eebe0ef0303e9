import type { PageMessages } from './index';

export const wall: PageMessages = {
  'zh-CN': {
    title: '万机联网 · 数字化改造大屏',
    figuresAt: '数据时间 {time}',
    reconnecting: '正在重新连接…显示的是 {time} 的数据',
    panels: '轮播内容',
    panel: {
      map: '各区县联网率',
      industry: '各行业联网率',
      trend: '联网与在线趋势',
      ranking: '联网率排名',
    },
    showPanel: '显示：{name}',
    exit: '返回总览',
  },
  en: {
    title: 'Wanji · networked machines wall screen',
    figuresAt: 'Figures of {time}',
    reconnecting: 'Reconnecting… showing the figures of {time}',
    panels: 'Rotating panels',
    panel: {
      map: 'Networking rate by county',
      industry: 'Networking rate by industry',
      trend: 'Networked and online trend',
      ranking: 'Ranked by networking rate',
    },
    showPanel: 'Show: {name}',
    exit: 'Back to the overview',
  },
};
